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
