"""A Stripe-Signature timestamped ahead of our clock by more than the allowed
skew is refused like a stale one: 400 invalid_signature, nothing stored."""

from __future__ import annotations

import json
import time

import pytest

from accounts.tests.factories import UserFactory
from billing import services
from billing.models import LedgerEntry, PaymentOrder, ProviderEvent
from billing.tests.factories import CreditPackageFactory
from billing.tests.simulators import sign

pytestmark = pytest.mark.django_db
URL = "/api/payments/webhook/stripe"


def _completed_event(stripe_simulator) -> str:
    package = CreditPackageFactory(credits=500, prices={"USD": 999})
    order = services.create_stripe_order(UserFactory(), package_id=package.pk)
    return json.dumps(
        stripe_simulator.event(
            "checkout.session.completed", stripe_simulator.pay(order.provider_session_id)
        )
    )


def test_a_signature_from_beyond_the_skew_is_refused_and_changes_nothing(
    client, stripe_simulator, settings
) -> None:
    settings.STRIPE_WEBHOOK_CLOCK_SKEW = 60
    payload = _completed_event(stripe_simulator)

    response = client.post(
        URL,
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, timestamp=int(time.time()) + 3600),
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_signature"
    assert not ProviderEvent.objects.exists()
    assert not LedgerEntry.objects.exists()
    assert PaymentOrder.objects.get().status == "pending"


def test_a_signature_a_little_ahead_of_our_clock_is_accepted(
    client, stripe_simulator, settings
) -> None:
    settings.STRIPE_WEBHOOK_CLOCK_SKEW = 60
    payload = _completed_event(stripe_simulator)

    response = client.post(
        URL,
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, timestamp=int(time.time()) + 20),
    )

    assert response.status_code == 200
    assert PaymentOrder.objects.get().status == "paid"
    assert LedgerEntry.objects.get().kind == "purchase"
