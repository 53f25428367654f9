"""``GET /api/users/credits`` is a read: with replicas configured, a user whose
account exists is not pinned to the primary by it (no pin cookie, no per-user
pin); only a user whose account is truly missing gets it created (a write, pinned)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from accounts.tokens import issue_tokens
from billing import services
from billing.models import CreditAccount
from config import db_router

pytestmark = pytest.mark.django_db(transaction=True)

# No DATABASES entry: reads fall back to the primary, writes still pin.
UNCONFIGURED = "replica-unconfigured"


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user, method='password')['access']}"
    )
    return client


def test_a_credits_read_of_an_existing_account_does_not_pin(settings) -> None:
    settings.DATABASE_REPLICAS = [UNCONFIGURED]
    user = UserFactory()
    services.grant_bonus(user, 30, key="seed")
    cache.delete(f"dbpin:user:{user.pk}")  # the seeding above is not the request's

    response = _client(user).get("/api/users/credits")

    assert response.status_code == 200
    assert response.json()["balance"] == 30
    assert db_router.PIN_COOKIE not in response.cookies
    assert cache.get(f"dbpin:user:{user.pk}") is None


def test_a_missing_account_is_created_by_the_read_and_that_write_pins(settings) -> None:
    settings.DATABASE_REPLICAS = [UNCONFIGURED]
    user = UserFactory()
    CreditAccount.objects.filter(user=user).delete()
    cache.delete(f"dbpin:user:{user.pk}")

    response = _client(user).get("/api/users/credits")

    assert response.json() == {"balance": 0, "reserved": 0, "available": 0, "recent": []}
    assert CreditAccount.objects.filter(user=user).count() == 1
    assert cache.get(f"dbpin:user:{user.pk}") == 1


def test_an_account_without_entries_reads_as_its_row_and_no_entries(settings) -> None:
    settings.DATABASE_REPLICAS = [UNCONFIGURED]
    user = UserFactory()
    services.account_for(user)
    cache.delete(f"dbpin:user:{user.pk}")

    response = _client(user).get("/api/users/credits")

    assert response.json() == {"balance": 0, "reserved": 0, "available": 0, "recent": []}
    assert cache.get(f"dbpin:user:{user.pk}") is None
