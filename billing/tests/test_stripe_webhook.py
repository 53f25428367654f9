"""Stripe notifications: verified, stored raw, applied exactly once."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from billing import services
from billing.models import CreditAccount, LedgerEntry, PaymentOrder, ProviderEvent
from billing.simulators import StripeSimulator
from billing.tests.factories import CreditPackageFactory
from billing.tests.simulators import sign
from config.tests.concurrency import run_together

URL = "/api/payments/webhook/stripe"


def _open_order(fake: StripeSimulator, *, credits: int = 500, usd: int = 999) -> PaymentOrder:
    package = CreditPackageFactory(credits=credits, prices={"USD": usd})
    return services.create_stripe_order(UserFactory(), package_id=package.pk)


def _post(client: Client, event: dict, **sign_kwargs: object) -> object:
    payload = json.dumps(event)
    return client.post(
        URL,
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, **sign_kwargs),
    )


def _balance(order: PaymentOrder) -> int:
    account = CreditAccount.objects.filter(user=order.user).first()
    return account.balance if account else 0


@pytest.mark.django_db
def test_the_same_event_delivered_ten_times_grants_once(client, stripe_simulator) -> None:
    order = _open_order(stripe_simulator)
    event = stripe_simulator.event(
        "checkout.session.completed", stripe_simulator.pay(order.provider_session_id)
    )

    statuses = [_post(client, event).status_code for _ in range(10)]

    assert statuses == [200] * 10
    assert _balance(order) == 500
    assert LedgerEntry.objects.filter(kind="purchase").count() == 1
    stored = ProviderEvent.objects.get()
    assert (stored.status, stored.attempts, stored.order_id) == ("processed", 1, order.pk)


@pytest.mark.django_db
def test_completed_then_async_succeeded_for_one_session_grants_once(
    client, stripe_simulator
) -> None:
    order = _open_order(stripe_simulator)
    session = stripe_simulator.pay(order.provider_session_id)

    _post(client, stripe_simulator.event("checkout.session.completed", session))
    _post(client, stripe_simulator.event("checkout.session.async_payment_succeeded", session))

    assert _balance(order) == 500
    assert ProviderEvent.objects.filter(status="processed").count() == 2
    assert LedgerEntry.objects.filter(kind="purchase").count() == 1


@pytest.mark.django_db
def test_a_delayed_payment_is_granted_when_it_clears_not_when_checkout_completes(
    client, stripe_simulator
) -> None:
    order = _open_order(stripe_simulator)
    unpaid = {**stripe_simulator.sessions[order.provider_session_id], "status": "complete"}

    _post(client, stripe_simulator.event("checkout.session.completed", unpaid))
    assert (_balance(order), PaymentOrder.objects.get().status) == (0, "pending")

    _post(
        client,
        stripe_simulator.event(
            "checkout.session.async_payment_succeeded",
            stripe_simulator.pay(order.provider_session_id),
        ),
    )
    assert (_balance(order), PaymentOrder.objects.get().status) == (500, "paid")


@pytest.mark.django_db
def test_async_failure_and_expiry_close_the_order_without_credits(client, stripe_simulator) -> None:
    failed = _open_order(stripe_simulator)
    expired = _open_order(stripe_simulator)

    _post(
        client,
        stripe_simulator.event(
            "checkout.session.async_payment_failed",
            stripe_simulator.sessions[failed.provider_session_id],
        ),
    )
    _post(
        client,
        stripe_simulator.event(
            "checkout.session.expired",
            {**stripe_simulator.sessions[expired.provider_session_id], "status": "expired"},
        ),
    )

    assert PaymentOrder.objects.get(pk=failed.pk).status == "failed"
    assert PaymentOrder.objects.get(pk=expired.pk).status == "canceled"
    assert not LedgerEntry.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "_case,tamper",
    [
        ("wrong_secret", {"secret": "whsec_" + "someoneelse"}),
        ("stale_timestamp", {"timestamp": int(time.time()) - 301}),
    ],
)
def test_forged_or_stale_events_are_refused_and_change_nothing(
    client, stripe_simulator, _case: str, tamper: dict
) -> None:
    order = _open_order(stripe_simulator)
    event = stripe_simulator.event(
        "checkout.session.completed", stripe_simulator.pay(order.provider_session_id)
    )

    response = _post(client, event, **tamper)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_signature"
    assert not ProviderEvent.objects.exists()
    assert not LedgerEntry.objects.exists()
    assert PaymentOrder.objects.get().status == "pending"


@pytest.mark.django_db
def test_a_tampered_body_is_refused(client, stripe_simulator) -> None:
    order = _open_order(stripe_simulator)
    session = stripe_simulator.pay(order.provider_session_id)
    signed = json.dumps(stripe_simulator.event("checkout.session.completed", session))
    tampered = signed.replace('"amount_total": 999', '"amount_total": 1')

    response = client.post(
        URL, tampered, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(signed)
    )
    missing = client.post(URL, signed, content_type="application/json")

    assert (response.status_code, missing.status_code) == (400, 400)
    assert not ProviderEvent.objects.exists()
    assert not LedgerEntry.objects.exists()


@pytest.mark.django_db
def test_a_wrong_amount_is_refused_and_kept_as_a_failed_event(client, stripe_simulator) -> None:
    order = _open_order(stripe_simulator)
    session = {**stripe_simulator.pay(order.provider_session_id), "amount_total": 1}

    response = _post(client, stripe_simulator.event("checkout.session.completed", session))

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_notification"
    stored = ProviderEvent.objects.get()
    assert stored.status == "failed" and "Paid 1 USD" in stored.error
    assert PaymentOrder.objects.get().status == "pending"
    assert not LedgerEntry.objects.exists()


@pytest.mark.django_db
def test_unknown_event_types_are_acknowledged_and_ignored(client, stripe_simulator) -> None:
    response = _post(
        client, stripe_simulator.event("customer.created", {"id": "cus_1", "object": "customer"})
    )

    assert response.status_code == 200
    assert ProviderEvent.objects.get().status == "ignored"


@pytest.mark.django_db
def test_a_failed_event_keeps_its_error_and_replays_once_its_order_exists(
    client, stripe_simulator
) -> None:
    # given an event that arrives for an order we cannot find yet
    order = _open_order(stripe_simulator)
    session = stripe_simulator.pay(order.provider_session_id)
    event = stripe_simulator.event(
        "checkout.session.completed",
        {
            **session,
            "id": "cs_unknown",
            "metadata": {"order_id": "00000000-0000-4000-8000-000000000000"},
        },
    )
    assert _post(client, event).status_code == 400
    stored = ProviderEvent.objects.get()
    assert stored.status == "failed" and "No order matches" in stored.error

    # when support links it up and replays it
    payload = {**stored.payload}
    payload["data"]["object"]["metadata"]["order_id"] = str(order.pk)
    payload["data"]["object"]["id"] = order.provider_session_id
    ProviderEvent.objects.filter(pk=stored.pk).update(payload=payload)
    results = services.replay_events()
    again = services.replay_events()

    # then it is processed once and grants once
    assert results == {stored.pk: "processed"}
    assert again == {}
    assert _balance(order) == 500
    assert ProviderEvent.objects.get().attempts == 2


@pytest.mark.django_db
def test_charge_refunded_takes_back_the_unspent_credits_once(client, stripe_simulator) -> None:
    order = _open_order(stripe_simulator)
    session = stripe_simulator.pay(order.provider_session_id)
    _post(client, stripe_simulator.event("checkout.session.completed", session))
    services.reserve(order.user, 200, ref="job:1", key="r1")
    services.capture(order.user, 200, ref="job:1", key="c1")

    refunded = stripe_simulator.event(
        "charge.refunded", stripe_simulator.charge_refunded(order.provider_session_id)
    )
    _post(client, refunded)
    _post(client, {**refunded, "id": refunded["id"] + "_again"})

    order.refresh_from_db()
    assert order.status == "refunded"
    entry = LedgerEntry.objects.get(kind="refund")
    assert (entry.amount, entry.shortfall) == (-300, 200)
    assert _balance(order) == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_grant_once(stripe_simulator) -> None:
    order = _open_order(stripe_simulator)
    event = stripe_simulator.event(
        "checkout.session.completed", stripe_simulator.pay(order.provider_session_id)
    )
    second = stripe_simulator.event(
        "checkout.session.async_payment_succeeded",
        stripe_simulator.sessions[order.provider_session_id],
    )
    statuses = run_together(8, lambda n: _post(Client(), event if n % 2 else second).status_code)

    assert statuses == [200] * 8
    assert _balance(order) == 500
    assert LedgerEntry.objects.filter(kind="purchase").count() == 1
    assert ProviderEvent.objects.filter(status="processed").count() == 2


@pytest.mark.django_db
def test_partial_refunds_take_back_credits_in_proportion_once_each(
    client, stripe_simulator
) -> None:
    # given a paid order of 500 credits for 999 cents
    order = _open_order(stripe_simulator, credits=500, usd=1000)
    _post(
        client,
        stripe_simulator.event(
            "checkout.session.completed", stripe_simulator.pay(order.provider_session_id)
        ),
    )
    charge = stripe_simulator.charge_refunded(order.provider_session_id, full=False)

    # when 500 cents are refunded (twice notified), then the rest
    half = stripe_simulator.event("charge.refunded", {**charge, "amount_refunded": 500})
    _post(client, half)
    _post(client, {**half, "id": half["id"] + "_dup"})
    assert (PaymentOrder.objects.get().status, _balance(order)) == ("paid", 250)
    _post(
        client,
        stripe_simulator.event(
            "charge.refunded", {**charge, "amount_refunded": 1000, "refunded": True}
        ),
    )

    # then half the credits went back each time and the order ends refunded
    assert PaymentOrder.objects.get().status == "refunded"
    assert list(
        LedgerEntry.objects.filter(kind="refund").order_by("id").values_list("amount", flat=True)
    ) == [-250, -250]
    assert _balance(order) == 0


@pytest.mark.django_db
def test_an_event_for_another_session_of_the_order_is_refused(client, stripe_simulator) -> None:
    order = _open_order(stripe_simulator)
    session = {**stripe_simulator.pay(order.provider_session_id), "id": "cs_test_other"}

    response = _post(client, stripe_simulator.event("checkout.session.completed", session))

    assert response.status_code == 400
    assert not LedgerEntry.objects.exists()


@pytest.mark.django_db
def test_an_event_of_another_integration_on_the_account_is_acknowledged_and_ignored(
    client, stripe_simulator
) -> None:
    # given a paid session that was not opened by us (no order in its metadata)
    foreign = {
        "id": "cs_test_foreign",
        "object": "checkout.session",
        "payment_status": "paid",
        "status": "complete",
        "amount_total": 999,
        "currency": "usd",
        "metadata": {},
        "payment_intent": "pi_foreign",
    }

    response = _post(client, stripe_simulator.event("checkout.session.completed", foreign))

    assert response.status_code == 200
    assert ProviderEvent.objects.get().status == "ignored"
    assert not LedgerEntry.objects.exists()
