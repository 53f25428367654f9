"""GET /api/users/credits/history and GET /api/payments: pages of your own records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing import services
from billing.models import PaymentOrder
from billing.tests.factories import PaymentOrderFactory

pytestmark = pytest.mark.django_db


def test_history_lists_every_entry_newest_first_a_page_at_a_time(api_client) -> None:
    user = UserFactory()
    services.grant_bonus(user, 100, key="seed")
    for n in range(25):
        services.reserve(user, 1, ref=f"job:{n}", key=f"r{n}")
    services.grant_bonus(UserFactory(), 50, key="someone-else")
    api_client.force_authenticate(user)

    first = api_client.get("/api/users/credits/history").json()
    second = api_client.get("/api/users/credits/history", {"page": 2}).json()

    assert first["count"] == 26
    assert len(first["results"]) == 20
    assert first["results"][0]["ref"] == "job:24"
    assert first["next"].endswith("/api/users/credits/history?page=2")
    assert first["previous"] is None
    assert [e["ref"] for e in second["results"]] == [*(f"job:{n}" for n in range(4, -1, -1)), ""]
    assert second["results"][-1] == {
        "id": second["results"][-1]["id"],
        "kind": "bonus",
        "amount": 100,
        "reserved_delta": 0,
        "balance_after": 100,
        "ref": "",
        "created_at": second["results"][-1]["created_at"],
    }


def test_history_of_a_new_user_is_an_empty_page(api_client) -> None:
    api_client.force_authenticate(UserFactory())

    body = api_client.get("/api/users/credits/history").json()

    assert body == {"count": 0, "next": None, "previous": None, "results": []}


def test_history_needs_a_signed_in_user(api_client) -> None:
    assert api_client.get("/api/users/credits/history").status_code == 401


def _order(user, *, status: str, age_minutes: int) -> PaymentOrder:
    order = PaymentOrderFactory(user=user, status=status)
    PaymentOrder.objects.filter(pk=order.pk).update(
        created_at=timezone.now() - timedelta(minutes=age_minutes)
    )
    return order


def test_payments_lists_your_orders_newest_first(api_client) -> None:
    user = UserFactory()
    old = _order(user, status="failed", age_minutes=30)
    new = _order(user, status="pending", age_minutes=1)
    _order(UserFactory(), status="pending", age_minutes=5)
    api_client.force_authenticate(user)

    body = api_client.get("/api/payments").json()

    assert body["count"] == 2
    assert [p["id"] for p in body["results"]] == [str(new.id), str(old.id)]
    assert body["results"][1]["status"] == "failed"
    assert set(body["results"][0]) == {
        "id",
        "provider",
        "status",
        "package",
        "credits",
        "amount",
        "currency",
        "created_at",
        "paid_at",
    }


def test_payments_filter_by_status(api_client) -> None:
    user = UserFactory()
    failed = _order(user, status="failed", age_minutes=3)
    _order(user, status="canceled", age_minutes=2)
    api_client.force_authenticate(user)

    body = api_client.get("/api/payments", {"status": "failed"}).json()

    assert [p["id"] for p in body["results"]] == [str(failed.id)]


def test_an_unknown_status_is_a_400_naming_the_parameter(api_client) -> None:
    api_client.force_authenticate(UserFactory())

    response = api_client.get("/api/payments", {"status": "lost"})

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (response.json()["type"], error["code"], error["attr"]) == (
        "validation_error",
        "invalid_choice",
        "status",
    )


def test_payments_needs_a_signed_in_user_and_has_no_trailing_slash(api_client) -> None:
    assert api_client.get("/api/payments").status_code == 401
    api_client.force_authenticate(UserFactory())
    assert api_client.get("/api/payments").status_code == 200
