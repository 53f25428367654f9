"""POST /api/videos/upload: the bytes decide, limits are DashScope's, failures store nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.response import Response
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory
from storage.backends import get_storage
from storage.models import File
from storage.tests.media import make_image, make_video

pytestmark = pytest.mark.django_db

URL = "/api/videos/upload"


def _upload(
    api_client: APIClient, user: User, content: bytes, name: str, kind: str, content_type: str = ""
) -> Response:
    api_client.force_authenticate(user)
    upload = SimpleUploadedFile(
        name, content, content_type=content_type or "application/octet-stream"
    )
    return api_client.post(URL, {"file": upload, "kind": kind}, format="multipart")


def _stored_paths() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["type"] == "client_error"
    assert body["errors"][0]["code"] == code
    assert body["errors"][0]["attr"] == "file"
    # Then nothing was kept: no row, no object.
    assert File.objects.count() == 0
    assert _stored_paths() == []


def test_valid_jpeg_is_stored_with_its_measurements(api_client) -> None:
    # Given a user and a 640x480 JPEG named as if it were a PNG
    user = UserFactory()
    content = make_image(640, 480, "JPEG")
    # When it is uploaded as an image
    response = _upload(api_client, user, content, "portrait.png", "image", "image/png")
    # Then it is stored as the JPEG it is
    assert response.status_code == 201, response.content
    body = response.json()
    file = File.objects.get()
    assert body["id"] == str(file.id)
    assert body["kind"] == "image"
    assert body["content_type"] == "image/jpeg"
    assert body["size"] == len(content)
    assert (body["width"], body["height"], body["duration"]) == (640, 480, None)
    assert body["url"].startswith(f"{settings.SITE_URL}/api/videos/files/{file.id}.jpg?expires=")
    assert file.owner == user
    assert file.backend == "local"
    assert file.sha256 == hashlib.sha256(content).hexdigest()
    assert file.key == f"image/{user.id}/{file.id}.jpg"
    assert get_storage("local").open(file.key).read() == content


@pytest.mark.parametrize(
    ("container", "content_type"),
    [("mp4", "video/mp4"), ("mov", "video/quicktime"), ("avi", "video/x-msvideo")],
)
def test_valid_video_records_duration_fps_and_audio(api_client, container, content_type) -> None:
    user = UserFactory()
    content = make_video(3, 320, 240, 5, audio=True, container=container)
    response = _upload(api_client, user, content, f"dance.{container}", "video")
    assert response.status_code == 201, response.content
    file = File.objects.get()
    assert response.json()["content_type"] == content_type
    assert file.kind == "video"
    assert (file.width, file.height) == (320, 240)
    assert file.duration == pytest.approx(3.0, abs=0.25)
    assert file.fps == 5.0
    assert file.has_audio is True
    assert file.size == len(content)


def test_silent_video_records_no_audio(api_client) -> None:
    response = _upload(api_client, UserFactory(), make_video(2.4, 240, 320, 5), "a.mp4", "video")
    assert response.status_code == 201, response.content
    file = File.objects.get()
    assert file.has_audio is False
    assert (file.width, file.height) == (240, 320)


def test_video_renamed_jpg_is_refused_as_an_image(api_client) -> None:
    response = _upload(api_client, UserFactory(), make_video(3), "photo.jpg", "image", "image/jpeg")
    _assert_refused(response, 415, "unsupported_media")
    assert response.json()["errors"][0]["detected"] == "video/mp4"


def test_jpeg_renamed_mp4_is_refused_as_a_video(api_client) -> None:
    response = _upload(api_client, UserFactory(), make_image(), "clip.mp4", "video", "video/mp4")
    _assert_refused(response, 415, "unsupported_media")
    assert response.json()["errors"][0]["detected"] == "image/jpeg"


def test_gif_is_unsupported(api_client) -> None:
    response = _upload(api_client, UserFactory(), make_image(400, 400, "GIF"), "a.gif", "image")
    _assert_refused(response, 415, "unsupported_media")


def test_text_file_is_unsupported(api_client) -> None:
    response = _upload(api_client, UserFactory(), b"hello " * 1000, "a.mp4", "video")
    _assert_refused(response, 415, "unsupported_media")


def test_truncated_mp4_is_corrupt(api_client) -> None:
    content = make_video(3)
    response = _upload(api_client, UserFactory(), content[: len(content) // 2], "a.mp4", "video")
    _assert_refused(response, 400, "corrupt_media")


def test_truncated_jpeg_is_corrupt(api_client) -> None:
    content = make_image(800, 600, "JPEG")
    response = _upload(api_client, UserFactory(), content[: len(content) // 2], "a.jpg", "image")
    _assert_refused(response, 400, "corrupt_media")


def test_one_second_clip_is_too_short(api_client) -> None:
    response = _upload(api_client, UserFactory(), make_video(1), "a.mp4", "video")
    _assert_refused(response, 400, "media_too_short")
    assert response.json()["errors"][0]["duration"] == pytest.approx(1.0, abs=0.25)


def test_thirty_one_second_clip_is_too_long(api_client) -> None:
    response = _upload(api_client, UserFactory(), make_video(31), "a.mp4", "video")
    _assert_refused(response, 400, "media_too_long")
    assert response.json()["errors"][0]["duration"] == pytest.approx(31.0, abs=0.25)


def test_hundred_pixel_image_is_too_small(api_client) -> None:
    response = _upload(api_client, UserFactory(), make_image(100, 100, "PNG"), "a.png", "image")
    _assert_refused(response, 400, "image_too_small")


def test_five_thousand_pixel_image_is_too_large(api_client) -> None:
    response = _upload(api_client, UserFactory(), make_image(5000, 5000, "PNG"), "a.png", "image")
    _assert_refused(response, 400, "image_too_large")


def test_four_to_one_image_has_invalid_aspect_ratio(api_client) -> None:
    response = _upload(api_client, UserFactory(), make_image(1600, 400, "PNG"), "a.png", "image")
    _assert_refused(response, 400, "invalid_aspect_ratio")
    assert response.json()["errors"][0]["width"] == 1600


def test_four_to_one_video_has_invalid_aspect_ratio(api_client) -> None:
    response = _upload(api_client, UserFactory(), make_video(3, 960, 240), "a.mp4", "video")
    _assert_refused(response, 400, "invalid_aspect_ratio")


def test_video_below_200_px_has_invalid_dimensions(api_client) -> None:
    response = _upload(api_client, UserFactory(), make_video(3, 192, 160), "a.mp4", "video")
    _assert_refused(response, 400, "invalid_dimensions")


def test_image_over_five_megabytes_is_too_large(api_client) -> None:
    # Given a valid 1400x1400 BMP of about 5.9 MB: fine dimensions, too many bytes
    content = make_image(1400, 1400, "BMP")
    assert len(content) > 5 * 1024 * 1024
    response = _upload(api_client, UserFactory(), content, "a.bmp", "image")
    _assert_refused(response, 413, "file_too_large")


def test_body_larger_than_any_limit_is_refused_before_reading(api_client, settings) -> None:
    settings.STORAGE_MAX_IMAGE_BYTES = 100_000
    settings.STORAGE_MAX_VIDEO_BYTES = 200_000
    response = _upload(api_client, UserFactory(), b"\0" * 400_000, "a.mp4", "video")
    _assert_refused(response, 413, "file_too_large")
    assert response.json()["errors"][0]["max_bytes"] == 200_000


def test_missing_kind_is_a_validation_error(api_client) -> None:
    api_client.force_authenticate(UserFactory())
    upload = SimpleUploadedFile("a.jpg", make_image())
    response = api_client.post(URL, {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert response.json()["errors"][0]["attr"] == "kind"
    assert File.objects.count() == 0


def test_anonymous_upload_is_unauthorized(api_client) -> None:
    upload = SimpleUploadedFile("a.jpg", make_image())
    response = api_client.post(URL, {"file": upload, "kind": "image"}, format="multipart")
    assert response.status_code == 401
    assert File.objects.count() == 0


def test_multi_picture_jpeg_from_a_phone_is_a_jpeg(api_client) -> None:
    # Given a multi-picture JPEG (MPO), as phone cameras write
    import io

    from PIL import Image

    first, second = Image.new("RGB", (600, 800), "red"), Image.new("RGB", (600, 800), "blue")
    buf = io.BytesIO()
    first.save(buf, format="MPO", save_all=True, append_images=[second])
    # When it is uploaded
    response = _upload(api_client, UserFactory(), buf.getvalue(), "IMG_0001.JPG", "image")
    # Then it is accepted as a JPEG
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "image/jpeg"
    assert (response.json()["width"], response.json()["height"]) == (600, 800)


def _mp4_without_frames(content: bytes) -> bytes:
    """The same MP4 with its media data zeroed: container headers intact, no frame."""
    start = content.index(b"mdat") + 4
    size = int.from_bytes(content[start - 8 : start - 4], "big") - 8
    return content[:start] + b"\0" * size + content[start + size :]


def _avi_without_frames(content: bytes) -> bytes:
    """The same AVI with its frames zeroed; its headers still declare size and length."""
    start, end = content.index(b"movi") + 4, content.index(b"idx1")
    return content[:start] + b"\0" * (end - start) + content[end:]


def test_mp4_whose_frames_are_gone_is_corrupt(api_client) -> None:
    content = _mp4_without_frames(make_video(3))
    response = _upload(api_client, UserFactory(), content, "a.mp4", "video")
    _assert_refused(response, 400, "corrupt_media")


def test_avi_whose_frames_do_not_decode_is_corrupt(api_client) -> None:
    content = _avi_without_frames(make_video(3, container="avi"))
    response = _upload(api_client, UserFactory(), content, "a.avi", "video")
    _assert_refused(response, 400, "corrupt_media")
    assert "decoded" in response.json()["errors"][0]["detail"]


def test_oversized_frames_are_refused_by_their_declared_size_before_decoding(api_client) -> None:
    # Given a 2100x700 clip whose frames could not even be decoded
    content = _avi_without_frames(make_video(2.2, 2100, 700, fps=2, container="avi"))
    # When it is uploaded
    response = _upload(api_client, UserFactory(), content, "a.avi", "video")
    # Then its declared size refuses it: no frame was decoded to find out
    _assert_refused(response, 400, "invalid_dimensions")


def test_uploads_are_throttled_per_user_with_retry_after(api_client, settings) -> None:
    # Given an upload rate of two a minute
    rest = {**settings.REST_FRAMEWORK}
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "uploads": "2/min"}
    settings.REST_FRAMEWORK = rest
    user, other = UserFactory(), UserFactory()
    image = make_image()
    # When a user sends a third within the minute
    codes = [_upload(api_client, user, image, "a.jpg", "image").status_code for _ in range(3)]
    # Then it is refused before anything is read or stored, and says when to retry
    assert codes == [201, 201, 429]
    assert File.objects.filter(owner=user).count() == 2
    throttled = _upload(api_client, user, image, "a.jpg", "image")
    assert 0 < int(throttled["Retry-After"]) <= 60
    # While another user uploads as usual
    assert _upload(api_client, other, image, "a.jpg", "image").status_code == 201
