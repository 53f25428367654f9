from __future__ import annotations

import json

import pytest
from prometheus_client import REGISTRY

from accounts.tests.factories import UserFactory
from billing import services
from billing.tests.factories import CreditPackageFactory
from billing.tests.simulators import sign


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db(transaction=True)
def test_payments_and_credits_are_counted_once_committed(client, stripe_simulator) -> None:
    paid_before = _value("billing_payments_total", provider="stripe", outcome="paid")
    granted_before = _value("billing_credits_granted_total", kind="purchase")
    spent_before = _value("billing_credits_spent_total")
    order = services.create_stripe_order(
        UserFactory(), package_id=CreditPackageFactory(credits=500, prices={"USD": 999}).pk
    )
    payload = json.dumps(
        stripe_simulator.event(
            "checkout.session.completed", stripe_simulator.pay(order.provider_session_id)
        )
    )

    client.post(
        "/api/payments/webhook/stripe",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )
    client.post(
        "/api/payments/webhook/stripe",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )
    services.reserve(order.user, 40, ref="job:1", key="r1")
    services.capture(order.user, 30, ref="job:1", key="c1")

    assert _value("billing_payments_total", provider="stripe", outcome="paid") == paid_before + 1
    assert _value("billing_credits_granted_total", kind="purchase") == granted_before + 500
    assert _value("billing_credits_spent_total") == spent_before + 30


def _deliver(client, payload: str, signature: str) -> int:
    return client.post(
        "/api/payments/webhook/stripe",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    ).status_code


@pytest.mark.django_db(transaction=True)
def test_webhook_deliveries_are_counted_by_what_became_of_them(client, stripe_simulator) -> None:
    outcomes = ("processed", "ignored", "failed", "rejected")
    before = {o: _value("billing_webhooks_total", provider="stripe", outcome=o) for o in outcomes}
    order = services.create_stripe_order(
        UserFactory(), package_id=CreditPackageFactory(credits=500, prices={"USD": 999}).pk
    )
    paid = json.dumps(
        stripe_simulator.event(
            "checkout.session.completed", stripe_simulator.pay(order.provider_session_id)
        )
    )
    foreign = json.dumps(stripe_simulator.event("customer.created", {"id": "cus_1", "object": "x"}))
    unknown = json.dumps(
        stripe_simulator.event(
            "checkout.session.completed",
            {"id": "cs_nobody", "object": "checkout.session", "metadata": {"order_id": "0"}},
        )
    )

    statuses = [
        _deliver(client, paid, sign(paid)),  # processed
        _deliver(client, paid, sign(paid)),  # a redelivery: already processed
        _deliver(client, foreign, sign(foreign)),  # nothing of ours: ignored
        _deliver(client, unknown, sign(unknown)),  # stored, fails, kept for replay
        _deliver(client, paid, "t=1,v1=forged"),  # forged: nothing stored
    ]

    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] >= 400 and statuses[4] == 400
    after = {o: _value("billing_webhooks_total", provider="stripe", outcome=o) for o in outcomes}
    assert {o: after[o] - before[o] for o in outcomes} == {
        "processed": 2,
        "ignored": 1,
        "failed": 1,
        "rejected": 1,
    }


@pytest.mark.django_db(transaction=True)
def test_released_and_refunded_credits_are_counted_once_committed(stripe_simulator) -> None:
    released_before = _value("billing_credits_released_total")
    refunded_before = _value("billing_credits_refunded_total")
    user = UserFactory()
    services.grant_bonus(user, 100, key="fund")

    services.reserve(user, 40, ref="job:1", key="r1")
    services.capture(user, 30, ref="job:1", key="c1")  # closes the reservation
    services.reserve(user, 15, ref="job:2", key="r2")
    services.release(user, ref="job:2", key="x2")
    services.release(user, ref="job:2", key="x2")  # a repeat changes nothing
    services.release(user, ref="job:1", key="x1")  # nothing open: nothing released
    services.refund(user, 25, ref="payment_order:1", key="refund:1")

    assert _value("billing_credits_released_total") == released_before + 15
    assert _value("billing_credits_refunded_total") == refunded_before + 25


@pytest.mark.django_db
def test_pending_orders_are_read_from_the_database_at_scrape_time(stripe_simulator) -> None:
    package = CreditPackageFactory(credits=500, prices={"USD": 999})
    orders = [services.create_stripe_order(UserFactory(), package_id=package.pk) for _ in range(2)]

    assert _value("billing_orders_pending", provider="stripe") == 2
    assert _value("billing_orders_pending", provider="wechat") == 0

    services.settle_unpaid(orders[0], status="canceled")

    assert _value("billing_orders_pending", provider="stripe") == 1
