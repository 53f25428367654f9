"""Buying a package with Stripe Checkout, end to end against the loopback fake."""

from __future__ import annotations

import json
import time

import pytest
from rest_framework.throttling import ScopedRateThrottle

from accounts.tests.factories import UserFactory
from billing.models import CreditAccount, CreditPackage, LedgerEntry, PaymentOrder
from billing.tests.factories import CreditPackageFactory
from billing.tests.simulators import sign
from config.tests.concurrency import run_together

pytestmark = pytest.mark.django_db


def _deliver(client, event: dict) -> object:
    payload = json.dumps(event)
    return client.post(
        "/api/payments/webhook/stripe",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )


def test_packages_lists_active_packages_with_their_prices(api_client) -> None:
    CreditPackage.objects.all().delete()  # the defaults of the first migrate
    shown = CreditPackageFactory(name="Starter", credits=100, prices={"USD": 500, "CNY": 3500})
    CreditPackageFactory(active=False)

    response = api_client.get("/api/payments/packages")

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": shown.pk,
            "name": "Starter",
            "credits": 100,
            "prices": [{"currency": "CNY", "amount": 3500}, {"currency": "USD", "amount": 500}],
        }
    ]


def test_create_opens_a_checkout_session_for_the_package_and_grants_nothing(
    api_client, stripe_simulator
) -> None:
    user = UserFactory()
    package = CreditPackageFactory(credits=500, prices={"USD": 999})
    api_client.force_authenticate(user)

    response = api_client.post("/api/payments/stripe/create", {"package_id": package.pk})

    assert response.status_code == 201
    body = response.json()
    order = PaymentOrder.objects.get(pk=body["id"])
    assert body["checkout_url"] == stripe_simulator.checkout_url(order.provider_session_id)
    assert (body["status"], body["credits"], body["amount"], body["currency"]) == (
        "pending",
        500,
        999,
        "USD",
    )
    [sent] = stripe_simulator.requests
    assert sent["headers"]["Idempotency-Key"] == f"checkout-{order.pk}"
    assert sent["form"]["mode"] == "payment"
    assert sent["form"]["metadata"] == {"order_id": str(order.pk), "credits": "500"}
    assert sent["form"]["line_items"]["0"]["price_data"]["unit_amount"] == "999"
    assert sent["form"]["line_items"]["0"]["price_data"]["currency"] == "usd"
    assert int(sent["form"]["expires_at"]) >= time.time() + 30 * 60
    assert order.expires_at.timestamp() == int(sent["form"]["expires_at"])
    assert not LedgerEntry.objects.filter(account__user=user).exists()


def test_same_idempotency_key_returns_the_first_payment_and_opens_one_session(
    api_client, stripe_simulator
) -> None:
    package = CreditPackageFactory()
    api_client.force_authenticate(UserFactory())

    first = api_client.post(
        "/api/payments/stripe/create", {"package_id": package.pk}, HTTP_IDEMPOTENCY_KEY="k-1"
    )
    second = api_client.post(
        "/api/payments/stripe/create", {"package_id": package.pk}, HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert first.json()["id"] == second.json()["id"]
    assert second.json()["checkout_url"] == first.json()["checkout_url"]
    assert len(stripe_simulator.sessions) == 1
    assert PaymentOrder.objects.count() == 1


def test_an_over_long_idempotency_key_is_400_and_opens_nothing(
    api_client, stripe_simulator
) -> None:
    from config.idempotency import MAX_LENGTH

    package = CreditPackageFactory()
    api_client.force_authenticate(UserFactory())
    longest = "k" * MAX_LENGTH

    refused = api_client.post(
        "/api/payments/stripe/create",
        {"package_id": package.pk},
        HTTP_IDEMPOTENCY_KEY=longest + "x",
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "type": "validation_error",
        "errors": [
            {
                "code": "max_length",
                "detail": f"Ensure this header has no more than {MAX_LENGTH} characters.",
                "attr": "Idempotency-Key",
            }
        ],
    }
    assert not PaymentOrder.objects.exists()
    assert stripe_simulator.requests == []

    # the longest key allowed is kept whole: its repeat finds the first payment
    first = api_client.post(
        "/api/payments/stripe/create", {"package_id": package.pk}, HTTP_IDEMPOTENCY_KEY=longest
    )
    again = api_client.post(
        "/api/payments/stripe/create", {"package_id": package.pk}, HTTP_IDEMPOTENCY_KEY=longest
    )
    assert (first.status_code, again.json()["id"]) == (201, first.json()["id"])
    assert PaymentOrder.objects.get().idempotency_key == f"stripe:{longest}"


def test_a_package_without_a_price_in_the_currency_is_refused(api_client, stripe_simulator) -> None:
    package = CreditPackageFactory(prices={"CNY": 3500})
    api_client.force_authenticate(UserFactory())

    response = api_client.post("/api/payments/stripe/create", {"package_id": package.pk})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "package_unavailable"
    assert stripe_simulator.requests == []
    assert not PaymentOrder.objects.exists()


def test_stripe_down_answers_503_and_the_order_is_failed(api_client, stripe_simulator) -> None:
    package = CreditPackageFactory()
    api_client.force_authenticate(UserFactory())
    stripe_simulator.fail(500)
    # A 5xx is reported to Django's error signal, which the test client would re-raise.
    api_client.raise_request_exception = False

    response = api_client.post("/api/payments/stripe/create", {"package_id": package.pk})

    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "payment_provider_unavailable"
    assert PaymentOrder.objects.get().status == "failed"


def test_a_paid_checkout_grants_credits_only_through_the_signed_webhook(
    api_client, client, stripe_simulator
) -> None:
    # given a user who has paid on Stripe's page and came back to the SPA
    user = UserFactory()
    package = CreditPackageFactory(credits=500, prices={"USD": 999})
    api_client.force_authenticate(user)
    payment = api_client.post("/api/payments/stripe/create", {"package_id": package.pk}).json()
    order = PaymentOrder.objects.get(pk=payment["id"])
    session = stripe_simulator.pay(order.provider_session_id)

    # the browser's return changes nothing
    assert api_client.get(f"/api/payments/{order.pk}").json()["status"] == "pending"
    assert api_client.get("/api/users/credits").json()["balance"] == 0

    # when Stripe's signed notification arrives
    response = _deliver(client, stripe_simulator.event("checkout.session.completed", session))

    # then the order is paid and its credits granted
    assert response.status_code == 200
    detail = api_client.get(f"/api/payments/{order.pk}").json()
    assert detail["status"] == "paid" and detail["paid_at"] is not None
    assert api_client.get("/api/users/credits").json()["balance"] == 500
    entry = LedgerEntry.objects.get(account__user=user)
    assert (entry.kind, entry.amount, entry.order_id) == ("purchase", 500, order.pk)


def test_another_users_payment_is_not_found(api_client, stripe_simulator) -> None:
    package = CreditPackageFactory()
    api_client.force_authenticate(UserFactory())
    payment = api_client.post("/api/payments/stripe/create", {"package_id": package.pk}).json()
    api_client.force_authenticate(UserFactory())

    response = api_client.get(f"/api/payments/{payment['id']}")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
    assert not CreditAccount.objects.filter(balance__gt=0).exists()


def test_payment_creation_is_throttled_per_user(api_client, stripe_simulator, monkeypatch) -> None:
    # DRF binds the rates to the throttle class at import, so the rate is set there.
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "payments", "2/min")
    package = CreditPackageFactory()
    api_client.force_authenticate(UserFactory())

    codes = [
        api_client.post("/api/payments/stripe/create", {"package_id": package.pk}).status_code
        for _ in range(3)
    ]

    assert codes == [201, 201, 429]
    assert len(stripe_simulator.sessions) == 2


@pytest.mark.django_db(transaction=True)
def test_a_repeat_arriving_while_stripe_is_still_answering_gets_the_same_checkout_url(
    stripe_simulator,
) -> None:
    # given a user who sends the same request twice, the second while Stripe still
    # holds the first's session request unanswered
    from rest_framework.test import APIClient

    user = UserFactory()
    package = CreditPackageFactory()
    stripe_simulator.gate.clear()

    def create() -> dict:
        client = APIClient()
        client.force_authenticate(user)
        response = client.post(
            "/api/payments/stripe/create", {"package_id": package.pk}, HTTP_IDEMPOTENCY_KEY="k"
        )
        return {**response.json(), "http": response.status_code}

    def step(n: int) -> dict | None:
        if n == 0:  # the first request
            return create()
        if n == 1:  # the repeat, once the first is waiting at Stripe
            assert stripe_simulator.wait_for_arrivals(1), "the first never reached Stripe"
            return create()
        # Stripe answers only when the repeat has reached it too
        try:
            assert stripe_simulator.wait_for_arrivals(2), "the repeat never reached Stripe"
        finally:
            stripe_simulator.gate.set()
        return None

    # when both run
    results = run_together(3, step)

    # then every worker finished; both answer with the one order and its checkout URL,
    # and Stripe, asked twice under the order's key, opened one session
    assert len(results) == 3
    bodies = [r for r in results if r is not None]
    order = PaymentOrder.objects.get()
    assert [b["http"] for b in bodies] == [201, 201]
    assert {b["id"] for b in bodies} == {str(order.pk)}
    assert {b["checkout_url"] for b in bodies} == {order.checkout_url}
    assert order.checkout_url.startswith(f"{stripe_simulator.origin}/c/pay/cs_test_")
    assert len(stripe_simulator.sessions) == 1
    assert [r["headers"]["Idempotency-Key"] for r in stripe_simulator.requests] == [
        f"checkout-{order.pk}"
    ] * 2


def test_billing_tests_cannot_reach_the_real_stripe(
    settings, stripe_simulator, _loopback_only
) -> None:
    # given the real Stripe address instead of the loopback fake
    import socket

    from billing import stripe_gateway
    from billing.errors import PaymentProviderUnavailable

    settings.STRIPE_API_BASE = "https://api.stripe.com"

    # then neither a lookup, a connection nor the library gets out
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("api.stripe.com", 443)
    with pytest.raises(OSError):
        socket.create_connection(("93.184.215.14", 443), timeout=1)
    with pytest.raises(PaymentProviderUnavailable):
        stripe_gateway.retrieve_checkout_session("cs_test_x")
    assert stripe_simulator.requests == []
    assert "resolve 'api.stripe.com'" in _loopback_only
    _loopback_only.clear()


def test_a_package_can_be_bought_in_another_of_its_currencies(api_client, stripe_simulator) -> None:
    package = CreditPackageFactory(credits=500, prices={"USD": 999, "EUR": 899})
    api_client.force_authenticate(UserFactory())

    eur = api_client.post(
        "/api/payments/stripe/create", {"package_id": package.pk, "currency": "eur"}
    )
    gbp = api_client.post(
        "/api/payments/stripe/create", {"package_id": package.pk, "currency": "GBP"}
    )

    assert (eur.status_code, eur.json()["amount"], eur.json()["currency"]) == (201, 899, "EUR")
    [sent] = stripe_simulator.requests
    assert sent["form"]["line_items"]["0"]["price_data"]["currency"] == "eur"
    assert (gbp.status_code, gbp.json()["errors"][0]["code"]) == (400, "package_unavailable")
    assert PaymentOrder.objects.count() == 1


def test_an_unconfigured_provider_answers_503_and_opens_no_order(api_client, settings) -> None:
    settings.STRIPE_SECRET_KEY = ""
    settings.WECHATPAY_MCHID = ""
    package = CreditPackageFactory(prices={"USD": 500, "CNY": 3500})
    api_client.force_authenticate(UserFactory())
    api_client.raise_request_exception = False

    stripe = api_client.post("/api/payments/stripe/create", {"package_id": package.pk})
    wechat = api_client.post(
        "/api/payments/wechat/create", {"package_id": package.pk, "trade_type": "native"}
    )

    for response in [stripe, wechat]:
        assert response.status_code == 503
        assert response.json()["errors"][0]["code"] == "payment_provider_not_configured"
    assert not PaymentOrder.objects.exists()
