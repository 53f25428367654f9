"""The upload handler gives up at the first chunk past the limit, on disk all along."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from storage.api.parsers import LimitedUploadHandler
from storage.errors import FileTooLarge


def test_handler_raises_at_the_chunk_that_crosses_the_limit() -> None:
    # Given a handler limited to 100 kB that has started a file
    handler = LimitedUploadHandler(RequestFactory().post("/"), max_bytes=100_000)
    handler.new_file("file", "big.mp4", "video/mp4", None)
    chunk = b"x" * 40_000
    # When chunks arrive
    handler.receive_data_chunk(chunk, 0)
    handler.receive_data_chunk(chunk, 40_000)
    # Then the third, which would make 120 kB, is refused
    with pytest.raises(FileTooLarge) as refused:
        handler.receive_data_chunk(chunk, 80_000)
    assert refused.value.extra["max_bytes"] == 100_000
    # And what was accepted went to a temporary file, which is now closed
    assert handler.file.closed


def test_handler_accepts_exactly_the_limit() -> None:
    handler = LimitedUploadHandler(RequestFactory().post("/"), max_bytes=80_000)
    handler.new_file("file", "ok.mp4", "video/mp4", None)
    handler.receive_data_chunk(b"x" * 40_000, 0)
    handler.receive_data_chunk(b"x" * 40_000, 40_000)
    uploaded = handler.file_complete(80_000)
    assert uploaded.size == 80_000
    assert hasattr(uploaded, "temporary_file_path")
    uploaded.close()


def test_an_image_is_cut_off_at_the_image_limit_while_streaming(settings) -> None:
    # Given the 200 MB video limit for the body, and a file whose first bytes are a JPEG's
    settings.STORAGE_MAX_IMAGE_BYTES = 100_000
    handler = LimitedUploadHandler(RequestFactory().post("/"), max_bytes=200 * 1024 * 1024)
    handler.new_file("file", "huge.jpg", "image/jpeg", None)
    handler.receive_data_chunk(b"\xff\xd8\xff\xe0" + b"x" * 59_996, 0)
    # When the chunk that passes the image limit arrives
    with pytest.raises(FileTooLarge) as refused:
        handler.receive_data_chunk(b"x" * 60_000, 60_000)
    # Then it is refused at the image limit, not the video one
    assert refused.value.extra["max_bytes"] == 100_000
    assert handler.file.closed


def test_a_video_streams_past_the_image_limit(settings) -> None:
    settings.STORAGE_MAX_IMAGE_BYTES = 100_000
    handler = LimitedUploadHandler(RequestFactory().post("/"), max_bytes=300_000)
    handler.new_file("file", "clip.mp4", "video/mp4", None)
    handler.receive_data_chunk(b"\0\0\0\x20ftypisom" + b"x" * 149_988, 0)
    handler.receive_data_chunk(b"x" * 150_000, 150_000)
    uploaded = handler.file_complete(300_000)
    assert uploaded.size == 300_000
    uploaded.close()
