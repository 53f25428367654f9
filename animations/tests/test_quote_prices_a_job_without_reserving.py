"""POST /api/videos/quote: the credits a job would reserve now, and nothing reserved."""

from __future__ import annotations

import uuid

import pytest

from accounts.tests.factories import UserFactory
from animations.tests.helpers import account, client_for, funded_user, upload_inputs
from billing import services as billing
from billing.models import LedgerEntry

pytestmark = pytest.mark.django_db


def test_quote_is_the_price_create_would_reserve_and_reserves_nothing(settings) -> None:
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0  # the created task stays queued, offline
    user = funded_user(100)
    image, video = upload_inputs(user, seconds=3.0)
    entries = LedgerEntry.objects.count()
    api = client_for(user)

    move_std = api.post(
        "/api/videos/quote", {"video_id": str(video.id), "mode": "wan-std", "type": "move"}
    )
    mix_pro = api.post(
        "/api/videos/quote", {"video_id": str(video.id), "mode": "wan-pro", "type": "mix"}
    )
    created = api.post(
        "/api/videos/animate-move",
        {"image_id": str(image.id), "video_id": str(video.id), "mode": "wan-std"},
    )

    assert move_std.status_code == 200
    assert move_std.json() == {"credits": 12, "available": 100}
    assert mix_pro.json() == {"credits": 27, "available": 100}
    assert created.json()["credits"]["reserved"] == 12
    assert LedgerEntry.objects.count() == entries + 1  # the create's reserve only


def test_quote_shows_what_is_available_after_reservations() -> None:
    user = funded_user(20)
    _image, video = upload_inputs(user)
    billing.reserve(user, 15, ref="elsewhere", key="elsewhere:reserve")

    body = (
        client_for(user)
        .post("/api/videos/quote", {"video_id": str(video.id), "mode": "wan-std", "type": "move"})
        .json()
    )

    assert body == {"credits": 12, "available": 5}
    assert account(user) == (20, 15)


def test_another_users_video_or_an_unknown_id_is_404() -> None:
    _image, video = upload_inputs(UserFactory())
    api = client_for(UserFactory())

    theirs = api.post(
        "/api/videos/quote", {"video_id": str(video.id), "mode": "wan-std", "type": "move"}
    )
    unknown = api.post(
        "/api/videos/quote", {"video_id": str(uuid.uuid4()), "mode": "wan-std", "type": "move"}
    )

    for response in (theirs, unknown):
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "file_not_found"
        assert response.json()["errors"][0]["attr"] == "video_id"


def test_an_image_is_not_a_video_and_bad_fields_are_validation_errors() -> None:
    user = UserFactory()
    image, _video = upload_inputs(user)
    api = client_for(user)

    not_video = api.post(
        "/api/videos/quote", {"video_id": str(image.id), "mode": "wan-std", "type": "move"}
    )
    bad_mode = api.post("/api/videos/quote", {"video_id": str(image.id), "type": "swap"})

    assert not_video.status_code == 400
    assert not_video.json()["errors"][0]["code"] == "invalid_input"
    assert bad_mode.status_code == 400
    assert bad_mode.json()["type"] == "validation_error"
    assert {(e["attr"], e["code"]) for e in bad_mode.json()["errors"]} == {
        ("mode", "required"),
        ("type", "invalid_choice"),
    }


def test_quote_needs_a_signed_in_user(api_client) -> None:
    response = api_client.post("/api/videos/quote", {}, format="json")

    assert response.status_code == 401
