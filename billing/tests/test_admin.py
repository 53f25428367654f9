from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from billing import services
from billing.models import CreditAccount, LedgerEntry, PaymentOrder, PaymentRefund
from billing.tests.factories import CreditPackageFactory
from billing.tests.simulators import post_notification, sign
from config.tests.admin import run_action

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client: Client) -> Client:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admin_pages_render(staff_client) -> None:
    from billing.tests.factories import PaymentOrderFactory

    services.grant_bonus(UserFactory(), 10, key="seed")
    package = CreditPackageFactory()
    order = PaymentOrderFactory(package=package)

    for url in [
        "/admin/billing/creditpackage/",
        f"/admin/billing/creditpackage/{package.pk}/change/",
        "/admin/billing/creditaccount/",
        "/admin/billing/ledgerentry/",
        "/admin/billing/paymentorder/",
        f"/admin/billing/paymentorder/{order.pk}/change/",
        "/admin/billing/paymentrefund/",
        "/admin/billing/providerevent/",
        "/admin/billing/ledgerentry/?kind=refund&q=payment_order:x",
        "/admin/billing/paymentorder/?status=paid&provider=stripe&q=a@example.com",
    ]:
        assert staff_client.get(url).status_code == 200, url


def test_ledger_entries_cannot_be_added_or_deleted_in_the_admin(staff_client) -> None:
    services.grant_bonus(UserFactory(), 10, key="seed")
    entry = LedgerEntry.objects.get()

    assert staff_client.get("/admin/billing/ledgerentry/add/").status_code == 403
    assert staff_client.post(f"/admin/billing/ledgerentry/{entry.pk}/delete/").status_code == 403
    assert LedgerEntry.objects.count() == 1


def test_adjust_action_asks_for_a_reason_then_writes_an_entry_once(staff_client) -> None:
    user = UserFactory()
    account = services.account_for(user)
    url = "/admin/billing/creditaccount/"
    chosen = {"action": "adjust_credits", "_selected_action": [account.pk]}

    form = staff_client.post(url, chosen)
    key = form.context["form"]["key"].value()
    missing = staff_client.post(url, {**chosen, "apply": "1", "amount": "5", "key": key})
    applied = {**chosen, "apply": "1", "amount": "25", "reason": "goodwill", "key": key}
    first = staff_client.post(url, applied)
    resubmitted = staff_client.post(url, applied)

    assert form.status_code == 200 and b"Adjust credits" in form.content
    assert missing.status_code == 200 and b"This field is required" in missing.content
    assert (first.status_code, resubmitted.status_code) == (302, 302)
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.reason) == ("adjustment", 25, "goodwill")
    assert CreditAccount.objects.get(pk=account.pk).balance == 25


def _refund_in_admin(staff_client, order: PaymentOrder, reason: str = "ticket 1") -> object:
    return run_action(
        staff_client, "/admin/billing/paymentorder/", "refund", [order.pk], reason=reason
    )


def test_refund_action_needs_a_reason_and_calls_nobody_without_one(
    staff_client, stripe_simulator
) -> None:
    package = CreditPackageFactory(credits=500, prices={"USD": 999})
    order = services.create_stripe_order(UserFactory(), package_id=package.pk)
    url = "/admin/billing/paymentorder/"
    chosen = {"action": "refund", "_selected_action": [order.pk]}

    page = staff_client.post(url, chosen)
    blank = staff_client.post(url, {**chosen, "apply": "1", "reason": " "})

    assert page.status_code == 200 and b"Refund payments" in page.content
    assert blank.status_code == 200 and b"This field is required" in blank.content
    assert stripe_simulator.refunds == []


def test_refund_action_refunds_at_stripe_and_takes_the_credits_back_once(
    staff_client, stripe_simulator
) -> None:
    package = CreditPackageFactory(credits=500, prices={"USD": 999})
    order = services.create_stripe_order(UserFactory(), package_id=package.pk)
    session = stripe_simulator.pay(order.provider_session_id)
    payload = json.dumps(stripe_simulator.event("checkout.session.completed", session))
    staff_client.post(
        "/api/payments/webhook/stripe",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )

    _refund_in_admin(staff_client, order)
    _refund_in_admin(staff_client, order)
    refunded = json.dumps(
        stripe_simulator.event(
            "charge.refunded", stripe_simulator.charge_refunded(order.provider_session_id)
        )
    )
    staff_client.post(
        "/api/payments/webhook/stripe",
        refunded,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(refunded),
    )

    assert len(stripe_simulator.refunds) == 1
    assert stripe_simulator.refunds[0]["payment_intent"] == session["payment_intent"]
    refund = PaymentRefund.objects.get()
    assert (refund.reason, refund.status, refund.staff.is_staff) == ("ticket 1", "succeeded", True)
    assert PaymentOrder.objects.get(pk=order.pk).status == "refunded"
    assert list(LedgerEntry.objects.order_by("id").values_list("kind", "amount")) == [
        ("purchase", 500),
        ("refund", -500),
    ]


def test_refund_action_refunds_a_wechat_order_in_fen_and_takes_the_credits_back(
    staff_client, wechatpay_simulator
) -> None:
    package = CreditPackageFactory(credits=500, prices={"CNY": 3500})
    order = services.create_wechat_order(UserFactory(), package_id=package.pk, trade_type="native")
    body, headers = wechatpay_simulator.notification(wechatpay_simulator.pay(order.out_trade_no))
    assert post_notification(Client(), body, headers).status_code == 204

    _refund_in_admin(staff_client, order)

    [refund] = wechatpay_simulator.refunds
    assert refund["out_trade_no"] == order.out_trade_no
    amount = refund["amount"]
    assert (amount["refund"], amount["total"], amount["currency"]) == (3500, 3500, "CNY")
    assert PaymentOrder.objects.get(pk=order.pk).status == "refunded"
    assert CreditAccount.objects.get(user=order.user).balance == 0


def test_an_orders_money_fields_cannot_be_edited_in_the_admin(staff_client) -> None:
    from billing.tests.factories import PaymentOrderFactory

    order = PaymentOrderFactory(amount=999, credits=500)
    url = f"/admin/billing/paymentorder/{order.pk}/change/"

    page = staff_client.get(url).content.decode()
    staff_client.post(url, {"amount": "1", "credits": "100000", "status": "paid"})

    for field in ["amount", "credits", "currency", "status", "user"]:
        assert f'name="{field}"' not in page, field
    order.refresh_from_db()
    assert (order.amount, order.credits, order.status) == (999, 500, "pending")
    assert not LedgerEntry.objects.exists()
