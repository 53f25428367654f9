from __future__ import annotations

import pytest

from accounts.tests.factories import UserFactory
from billing import services

pytestmark = pytest.mark.django_db


def test_credits_shows_balance_reserved_available_and_recent_entries(api_client) -> None:
    user = UserFactory()
    services.grant_bonus(user, 100, key="seed")
    services.reserve(user, 30, ref="job:1", key="r1")
    api_client.force_authenticate(user)

    response = api_client.get("/api/users/credits")

    assert response.status_code == 200
    body = response.json()
    assert (body["balance"], body["reserved"], body["available"]) == (100, 30, 70)
    assert [(e["kind"], e["amount"], e["reserved_delta"]) for e in body["recent"]] == [
        ("reserve", 0, 30),
        ("bonus", 100, 0),
    ]


def test_credits_of_a_new_user_are_zero_and_others_entries_are_not_shown(api_client) -> None:
    services.grant_bonus(UserFactory(), 100, key="seed")
    api_client.force_authenticate(UserFactory())

    body = api_client.get("/api/users/credits").json()

    assert body == {"balance": 0, "reserved": 0, "available": 0, "recent": []}


def test_credits_needs_a_signed_in_user(api_client) -> None:
    assert api_client.get("/api/users/credits").status_code == 401
