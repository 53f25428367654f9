"""Create: inputs by id or URL (imported with the upload checks), bad input is a 4xx
and reserves nothing."""

from __future__ import annotations

import pytest

from animations.models import AnimationTask
from animations.tests.helpers import account, client_for, drive, final, funded_user
from billing.services import check_ledger
from storage.models import File
from storage.tests.media import make_image, make_video


@pytest.mark.django_db(transaction=True)
def test_inputs_given_as_urls_are_imported_then_animated(provider, media_host) -> None:
    user = funded_user(1000)
    body = {
        "image_url": media_host.put("p.png", make_image(400, 600, "PNG"), "image/png"),
        "video_url": media_host.put("d.mp4", make_video(3.0, 320, 240, 5), "video/mp4"),
        "mode": "wan-std",
    }
    response = client_for(user).post("/api/videos/animate-mix", body, format="json")
    assert response.status_code == 202, response.content
    task = response.json()
    assert task["image"]["kind"] == "image"
    assert task["video"]["duration"] == 3.0
    assert task["credits"]["reserved"] == 18
    assert File.objects.filter(owner=user, kind__in=["image", "video"]).count() == 2
    drive(final(task["id"]))
    assert AnimationTask.objects.get(pk=task["id"]).status == "succeeded"
    assert account(user) == (982, 0)
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_url_that_fails_the_media_checks_is_4xx_and_reserves_nothing(provider, media_host) -> None:
    user = funded_user(1000)
    body = {
        "image_url": media_host.put("p.jpg", make_image(), "image/jpeg"),
        "video_url": media_host.put("short.mp4", make_video(1.0, 320, 240, 5), "video/mp4"),
        "mode": "wan-std",
    }
    response = client_for(user).post("/api/videos/animate-move", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "media_too_short"
    assert not AnimationTask.objects.exists()
    assert account(user) == (1000, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"mode": "wan-std"},
        {"image_id": "00000000-0000-0000-0000-000000000000", "mode": "wan-std"},
        {
            "image_id": "00000000-0000-0000-0000-000000000000",
            "image_url": "http://127.0.0.1/x.jpg",
            "video_id": "00000000-0000-0000-0000-000000000000",
            "mode": "wan-std",
        },
        {
            "image_id": "00000000-0000-0000-0000-000000000000",
            "video_id": "00000000-0000-0000-0000-000000000000",
            "mode": "wan-max",
        },
    ],
)
def test_malformed_requests_are_400_validation_errors(body) -> None:
    user = funded_user(1000)
    response = client_for(user).post("/api/videos/animate-move", body, format="json")
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert not AnimationTask.objects.exists()


@pytest.mark.django_db
def test_anonymous_requests_are_401(api_client) -> None:
    assert api_client.post("/api/videos/animate-move", {}, format="json").status_code == 401
    assert api_client.get("/api/tasks/user/tasks").status_code == 401
