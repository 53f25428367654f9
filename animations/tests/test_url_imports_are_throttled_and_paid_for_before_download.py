"""URL imports are uploads: they count against the uploads throttle, the job's
price is checked before anything is downloaded (and again once the video is
read, before it is stored), and a refused request leaves nothing stored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import UserFactory
from animations.models import AnimationTask
from animations.tests.helpers import account, client_for, funded_user, upload_inputs
from billing import services as billing
from storage.models import File
from storage.tests.media import make_image, make_video

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _imports_from_loopback(settings) -> None:
    settings.STORAGE_ALLOW_LOOPBACK_IMPORTS = True  # the media host is on 127.0.0.1


@pytest.fixture
def rates(settings) -> Callable[..., None]:
    def set_rates(**scopes: str) -> None:
        rest = {**settings.REST_FRAMEWORK}
        rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **scopes}
        settings.REST_FRAMEWORK = rest

    return set_rates


def _urls(media_host, *, seconds: float = 3.0, image: bytes | None = None) -> dict[str, str]:
    return {
        "image_url": media_host.put("p.png", image or make_image(400, 600, "PNG"), "image/png"),
        "video_url": media_host.put("d.mp4", make_video(seconds, 320, 240, 5), "video/mp4"),
        "mode": "wan-std",
    }


def _stored_objects(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_user_without_credits_is_refused_before_anything_is_downloaded(
    media_host, settings
) -> None:
    user = UserFactory()

    response = client_for(user).post("/api/videos/animate-move", _urls(media_host), format="json")

    # the cheapest job the provider takes (2 s at 4 credits/s) is already too dear
    assert response.status_code == 402
    error = response.json()["errors"][0]
    assert (error["code"], error["needed"], error["available"]) == ("insufficient_credits", 8, 0)
    assert media_host.hits == []
    assert not File.objects.exists()
    assert _stored_objects(settings) == []
    assert not AnimationTask.objects.exists()


def test_a_video_too_long_for_the_credits_is_refused_once_read_and_not_stored(
    media_host, settings
) -> None:
    # given 10 credits: enough for 2 s of wan-std move (8), not for the 3 s video (12)
    user = funded_user(10)

    response = client_for(user).post(
        "/api/videos/animate-move", _urls(media_host, seconds=3.0), format="json"
    )

    assert response.status_code == 402
    error = response.json()["errors"][0]
    assert (error["code"], error["needed"], error["available"]) == ("insufficient_credits", 12, 10)
    # the video was read to learn its length, never stored; the image never fetched
    assert media_host.hits == ["/d.mp4"]
    assert not File.objects.exists()
    assert _stored_objects(settings) == []
    assert account(user) == (10, 0)


def test_an_image_refused_after_the_video_was_imported_leaves_nothing_stored(
    media_host, settings, django_capture_on_commit_callbacks
) -> None:
    user = funded_user(1000)
    body = _urls(media_host, image=make_image(100, 100, "PNG"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).post("/api/videos/animate-move", body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "image_too_small"
    assert media_host.hits == ["/d.mp4", "/p.png"]
    # the video imported first is deleted with its object
    assert not File.objects.filter(deleted_at__isnull=True).exists()
    assert list(File.objects.values_list("kind", flat=True)) == ["video"]
    assert File.objects.get().purged_at is not None
    assert _stored_objects(settings) == []
    assert account(user) == (1000, 0)


def test_with_an_own_video_the_exact_price_is_checked_before_the_image_is_fetched(
    media_host, settings
) -> None:
    user = funded_user(100)
    _image, video = upload_inputs(user, seconds=3.0)  # 3 s mix wan-pro: 27 credits
    image_url = media_host.put("p.png", make_image(400, 600, "PNG"), "image/png")
    billing.adjust(user, -80, reason="spent elsewhere", key="spend", staff=None)

    response = client_for(user).post(
        "/api/videos/animate-mix",
        {"image_url": image_url, "video_id": str(video.id), "mode": "wan-pro"},
        format="json",
    )

    assert response.status_code == 402
    assert response.json()["errors"][0]["needed"] == 27
    assert media_host.hits == []
    assert File.objects.count() == 2  # the two uploads of upload_inputs, nothing more


def test_url_imports_count_against_the_uploads_throttle(media_host, rates) -> None:
    # given an uploads rate of 3 a minute
    rates(uploads="3/min")
    user = funded_user(1000)
    client = client_for(user)

    # when a job imports two URLs, then another job would import two more
    first = client.post("/api/videos/animate-move", _urls(media_host), format="json")
    hits = list(media_host.hits)
    second = client.post("/api/videos/animate-move", _urls(media_host), format="json")
    upload = client.post(
        "/api/videos/upload",
        {"file": SimpleUploadedFile("me.jpg", make_image(400, 600), "image/jpeg"), "kind": "image"},
        format="multipart",
    )
    one_more = client.post(
        "/api/videos/upload",
        {"file": SimpleUploadedFile("me.jpg", make_image(400, 600), "image/jpeg"), "kind": "image"},
        format="multipart",
    )

    # then the second job is throttled whole, before any download, and uploads share the count
    assert first.status_code == 202
    assert second.status_code == 429
    assert int(second["Retry-After"]) > 0
    assert second.json()["errors"][0]["code"] == "throttled"
    assert media_host.hits == hits
    assert upload.status_code == 201
    assert one_more.status_code == 429
    assert AnimationTask.objects.count() == 1


def test_a_flood_of_imports_from_a_user_without_credits_downloads_and_stores_nothing(
    media_host, rates, settings
) -> None:
    # the audit's scenario: 35 animate requests with image_url and video_url, 0 credits
    rates(uploads="30/min")
    client = client_for(UserFactory())

    codes = [
        client.post("/api/videos/animate-move", _urls(media_host), format="json").status_code
        for _ in range(35)
    ]

    assert codes == [402] * 15 + [429] * 20
    assert media_host.hits == []
    assert not File.objects.exists()
    assert _stored_objects(settings) == []


def test_a_6to4_url_around_a_private_address_is_refused_over_http(settings) -> None:
    user = funded_user(1000)
    _image, video = upload_inputs(user)

    response = client_for(user).post(
        "/api/videos/animate-move",
        {
            "image_url": "http://[2002:c0a8:101::1]/p.png",
            "video_id": str(video.id),
            "mode": "wan-std",
        },
        format="json",
    )

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["code"], error["reason"]) == ("unsafe_url", "private")
    assert File.objects.count() == 2
    assert not AnimationTask.objects.exists()
