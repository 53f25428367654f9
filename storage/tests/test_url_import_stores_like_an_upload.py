"""import_from_url: downloaded, checked by content like an upload, bounded in size."""

from __future__ import annotations

import hashlib
import time

import pytest

from accounts.tests.factories import UserFactory
from storage import services
from storage.errors import DownloadFailed, FileTooLarge, MediaTooLong, UnsupportedMedia
from storage.models import File
from storage.tests.fakes.web import Answer
from storage.tests.media import make_image, make_video

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback_imports")]


def test_imported_image_is_stored_by_its_content(fake_web) -> None:
    # Given a JPEG served without an extension and with a misleading type
    content = make_image(800, 600, "JPEG")
    url = fake_web.file("/download?id=7", content, content_type="text/plain")
    user = UserFactory()
    # When it is imported
    file = services.import_from_url(user, url, kind="image")
    # Then it is stored as the JPEG it is
    assert file.owner == user
    assert (file.kind, file.content_type, file.width, file.height) == (
        "image",
        "image/jpeg",
        800,
        600,
    )
    assert file.size == len(content)
    assert file.sha256 == hashlib.sha256(content).hexdigest()
    assert file.source_key is None
    assert fake_web.hits == ["/download?id=7"]


def test_imported_video_follows_a_redirect(fake_web, oss_storage) -> None:
    content = make_video(3, 320, 240, 5, audio=True)
    fake_web.file("/files/v.mp4", content, "video/mp4")
    url = fake_web.redirect("/share/abc", "/files/v.mp4")
    file = services.import_from_url(UserFactory(region="cn"), url, kind="video")
    assert (file.backend, file.content_type, file.has_audio) == ("oss", "video/mp4", True)
    assert fake_web.hits == ["/share/abc", "/files/v.mp4"]


def test_imported_video_too_long_is_not_stored(fake_web) -> None:
    url = fake_web.file("/long.mp4", make_video(31), "video/mp4")
    with pytest.raises(MediaTooLong):
        services.import_from_url(UserFactory(), url, kind="video")
    assert File.objects.count() == 0


def test_imported_image_that_is_a_video_is_unsupported(fake_web) -> None:
    url = fake_web.file("/a.jpg", make_video(3), "image/jpeg")
    with pytest.raises(UnsupportedMedia):
        services.import_from_url(UserFactory(), url, kind="image")
    assert File.objects.count() == 0


def test_oversize_download_is_refused(fake_web, settings) -> None:
    settings.STORAGE_MAX_IMAGE_BYTES = 50_000
    url = fake_web.file("/big.bmp", make_image(400, 400, "BMP"), "image/bmp")
    with pytest.raises(FileTooLarge) as refused:
        services.import_from_url(UserFactory(), url, kind="image")
    assert refused.value.extra["max_bytes"] == 50_000
    assert File.objects.count() == 0


def test_body_without_declared_length_is_cut_off_while_streaming(fake_web, settings) -> None:
    # Given a body past the limit, sent with no Content-Length to check up front
    settings.STORAGE_MAX_IMAGE_BYTES = 50_000
    body = make_image(400, 400, "BMP")
    fake_web.serve("/stream", Answer(200, body, declare_length=False))
    with pytest.raises(FileTooLarge):
        services.import_from_url(UserFactory(), fake_web.url("/stream"), kind="image")


def test_not_found_says_what_the_server_answered(fake_web) -> None:
    with pytest.raises(DownloadFailed) as failed:
        services.import_from_url(UserFactory(), fake_web.url("/missing.jpg"), kind="image")
    assert failed.value.code == "download_failed"
    assert failed.value.extra["status"] == 404
    assert File.objects.count() == 0


def test_slow_server_times_out(fake_web, settings) -> None:
    # Given a server that takes longer than the import's time budget
    settings.STORAGE_IMPORT_TIMEOUT = 0.3
    url = fake_web.serve("/slow.jpg", Answer(200, make_image(), delay=1.0))
    # When it is imported
    with pytest.raises(DownloadFailed) as failed:
        services.import_from_url(UserFactory(), url, kind="image")
    # Then it gives up with a clear message and stores nothing
    assert failed.value.detail == "The download timed out."
    assert File.objects.count() == 0


def test_a_server_trickling_bytes_is_cut_off_at_the_time_budget(fake_web, settings) -> None:
    # Given a server that sends 100 bytes every 0.1 s: each read is quick, the whole is not
    settings.STORAGE_IMPORT_TIMEOUT = 0.5
    url = fake_web.serve("/drip.jpg", Answer(200, make_image(1600, 1200), trickle=0.1))
    started = time.monotonic()
    # When it is imported
    with pytest.raises(DownloadFailed) as failed:
        services.import_from_url(UserFactory(), url, kind="image")
    # Then the budget holds for the whole download, not just for each read
    assert failed.value.detail == "The download took too long."
    assert time.monotonic() - started < 2.0
    assert File.objects.count() == 0
