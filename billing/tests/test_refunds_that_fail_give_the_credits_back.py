"""Staff refunds take the credits back at once; a refund the provider refuses or
later fails gives them back, once, and the order is paid again."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from billing import services
from billing.errors import OrderNotRefundable
from billing.models import CreditAccount, LedgerEntry, PaymentOrder, PaymentRefund
from billing.simulators import StripeSimulator, WechatPaySimulator
from billing.tests.factories import CreditPackageFactory
from billing.tests.simulators import post_notification, sign

pytestmark = pytest.mark.django_db


def _paid_stripe_order(fake: StripeSimulator) -> PaymentOrder:
    package = CreditPackageFactory(credits=500, prices={"USD": 999})
    order = services.create_stripe_order(UserFactory(), package_id=package.pk)
    _stripe_event(fake.event("checkout.session.completed", fake.pay(order.provider_session_id)))
    return PaymentOrder.objects.get(pk=order.pk)


def _paid_wechat_order(fake: WechatPaySimulator) -> PaymentOrder:
    package = CreditPackageFactory(credits=500, prices={"CNY": 3500})
    order = services.create_wechat_order(UserFactory(), package_id=package.pk, trade_type="native")
    assert (
        post_notification(Client(), *fake.notification(fake.pay(order.out_trade_no))).status_code
        == 204
    )
    return PaymentOrder.objects.get(pk=order.pk)


def _stripe_event(event: dict) -> int:
    payload = json.dumps(event)
    return (
        Client()
        .post(
            "/api/payments/webhook/stripe",
            payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=sign(payload),
        )
        .status_code
    )


def _kinds(order: PaymentOrder) -> list[tuple[str, int]]:
    return list(
        LedgerEntry.objects.filter(account__user=order.user)
        .order_by("id")
        .values_list("kind", "amount")
    )


def _balance(order: PaymentOrder) -> int:
    return CreditAccount.objects.get(user=order.user).balance


def test_a_wechat_refund_closed_after_staff_asked_gives_the_credits_back_once(
    wechatpay_simulator,
) -> None:
    # given a staff refund that WeChat accepted as PROCESSING
    order = _paid_wechat_order(wechatpay_simulator)
    row = services.refund_order(order, staff=UserFactory(is_staff=True), reason="ticket 7")
    assert (row.status, _balance(order), PaymentOrder.objects.get().status) == (
        "pending",
        0,
        "refunded",
    )
    [asked] = wechatpay_simulator.refunds
    assert (asked["out_refund_no"], asked["amount"]["refund"]) == (row.out_refund_no, 3500)

    # when WeChat reports that refund closed, twice
    closed = wechatpay_simulator.refund_resource(
        order.out_trade_no, out_refund_no=row.out_refund_no, status="CLOSED"
    )
    for _ in range(2):
        notice = wechatpay_simulator.notification(closed, event_type="REFUND.CLOSED")
        assert post_notification(Client(), *notice).status_code == 204

    # then the credits are back once and the order is paid again
    assert PaymentRefund.objects.get().status == "failed"
    assert PaymentOrder.objects.get().status == "paid"
    assert _kinds(order) == [("purchase", 500), ("refund", -500), ("refund_reversal", 500)]
    assert _balance(order) == 500


def test_a_wechat_refund_that_succeeds_after_staff_asked_changes_no_more_credits(
    wechatpay_simulator,
) -> None:
    order = _paid_wechat_order(wechatpay_simulator)
    row = services.refund_order(order, staff=None, reason="ticket 8")

    done = wechatpay_simulator.refund_resource(order.out_trade_no, out_refund_no=row.out_refund_no)
    notice = wechatpay_simulator.notification(done, event_type="REFUND.SUCCESS")
    assert post_notification(Client(), *notice).status_code == 204

    refund = PaymentRefund.objects.get()
    assert (refund.status, refund.provider_refund_id) == ("succeeded", done["refund_id"])
    assert PaymentOrder.objects.get().status == "refunded"
    assert _kinds(order) == [("purchase", 500), ("refund", -500)]


def test_a_pending_stripe_refund_that_fails_gives_the_credits_back(stripe_simulator) -> None:
    # given a staff refund that Stripe left pending
    order = _paid_stripe_order(stripe_simulator)
    stripe_simulator.configure(refund_status="pending")
    row = services.refund_order(order, staff=None, reason="ticket 9")
    [asked] = stripe_simulator.refunds
    assert (row.status, row.provider_refund_id, asked["amount"]) == ("pending", asked["id"], 999)

    # when Stripe reports it failed
    failed = {**asked, "status": "failed", "failure_reason": "expired_or_canceled_card"}
    assert _stripe_event(stripe_simulator.event("refund.failed", failed)) == 200

    # then the credits are back and the order is paid again
    assert PaymentRefund.objects.get().status == "failed"
    assert PaymentOrder.objects.get().status == "paid"
    assert _kinds(order) == [("purchase", 500), ("refund", -500), ("refund_reversal", 500)]


def test_a_refund_the_provider_refuses_gives_the_credits_back_and_says_so(
    stripe_simulator, client
) -> None:
    # given Stripe refusing the next call
    order = _paid_stripe_order(stripe_simulator)
    stripe_simulator.fail(400)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    # when staff refund the order in the admin
    chosen = {"action": "refund", "_selected_action": [order.pk]}
    response = client.post(
        "/admin/billing/paymentorder/",
        {**chosen, "apply": "1", "reason": "ticket 11"},
        follow=True,
    )

    # then it is reported, nothing stays taken, and the order is still paid
    assert [str(m) for m in response.context["messages"]] == [
        "Refunded: 0.",
        f"Refused: {order.pk}: payment_provider_unavailable (Stripe: Injected failure.)",
    ]
    assert stripe_simulator.refunds == []
    assert PaymentRefund.objects.get().status == "failed"
    assert PaymentOrder.objects.get().status == "paid"
    assert _kinds(order) == [("purchase", 500), ("refund", -500), ("refund_reversal", 500)]
    assert _balance(order) == 500


def test_a_second_refund_of_a_fully_refunded_order_is_refused_without_a_provider_call(
    stripe_simulator,
) -> None:
    order = _paid_stripe_order(stripe_simulator)
    services.refund_order(order, staff=None, reason="ticket 10")

    with pytest.raises(OrderNotRefundable):
        services.refund_order(PaymentOrder.objects.get(), staff=None, reason="again")

    assert len(stripe_simulator.refunds) == 1
    assert _kinds(order) == [("purchase", 500), ("refund", -500)]


def test_reconciliation_settles_refunds_whose_notification_was_lost(
    stripe_simulator, wechatpay_simulator
) -> None:
    # given three staff refunds still pending an hour later: one WeChat closed, one
    # WeChat completed, one Stripe completed, none of them notified
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    closed = _paid_wechat_order(wechatpay_simulator)
    done = _paid_wechat_order(wechatpay_simulator)
    card = _paid_stripe_order(stripe_simulator)
    stripe_simulator.configure(refund_status="pending")
    rows = {
        "closed": services.refund_order(closed, staff=None, reason="a"),
        "done": services.refund_order(done, staff=None, reason="b"),
        "card": services.refund_order(card, staff=None, reason="c"),
    }
    answers = {r["out_refund_no"]: r for r in wechatpay_simulator.refunds}
    answers[rows["closed"].out_refund_no]["status"] = "CLOSED"
    answers[rows["done"].out_refund_no]["status"] = "SUCCESS"
    stripe_simulator.refunds[0]["status"] = "succeeded"
    PaymentRefund.objects.update(created_at=timezone.now() - timedelta(hours=1))

    # when reconciliation runs, twice
    call_command("reconcile_payments", "--older-than-minutes", "30")
    call_command("reconcile_payments", "--older-than-minutes", "30")

    # then each refund is settled from the provider's answer, once
    statuses = {k: PaymentRefund.objects.get(pk=v.pk).status for k, v in rows.items()}
    assert statuses == {"closed": "failed", "done": "succeeded", "card": "succeeded"}
    assert _kinds(closed) == [("purchase", 500), ("refund", -500), ("refund_reversal", 500)]
    assert _kinds(done) == [("purchase", 500), ("refund", -500)]
    assert _kinds(card) == [("purchase", 500), ("refund", -500)]
    assert PaymentOrder.objects.get(pk=closed.pk).status == "paid"


def test_a_pending_wechat_refund_that_wechat_never_received_gives_the_credits_back(
    wechatpay_simulator,
) -> None:
    # given a refund recorded here whose request never reached WeChat
    order = _paid_wechat_order(wechatpay_simulator)
    row = services.record_refund(
        order, amount=order.amount, out_refund_no="lostrequest01", status="pending"
    )

    results = services.reconcile_refunds(older_than_minutes=-1)

    assert results == {str(row.pk): "failed"}
    assert _kinds(order) == [("purchase", 500), ("refund", -500), ("refund_reversal", 500)]
