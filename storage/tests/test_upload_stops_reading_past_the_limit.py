"""The upload handler gives up at the first chunk past the limit, on disk all along."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from storage.api.parsers import LimitedUploadHandler
from storage.errors import FileTooLarge


def test_handler_raises_at_the_chunk_that_crosses_the_limit():
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


def test_handler_accepts_exactly_the_limit():
    handler = LimitedUploadHandler(RequestFactory().post("/"), max_bytes=80_000)
    handler.new_file("file", "ok.mp4", "video/mp4", None)
    handler.receive_data_chunk(b"x" * 40_000, 0)
    handler.receive_data_chunk(b"x" * 40_000, 40_000)
    uploaded = handler.file_complete(80_000)
    assert uploaded.size == 80_000
    assert hasattr(uploaded, "temporary_file_path")
    uploaded.close()
