"""When no notification comes: reconciliation asks the provider, expiry closes orders."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing import services, tasks
from billing.models import LedgerEntry, PaymentOrder
from billing.tests.factories import CreditPackageFactory

pytestmark = pytest.mark.django_db


def _age(order: PaymentOrder, minutes: int) -> None:
    past = timezone.now() - timedelta(minutes=minutes)
    PaymentOrder.objects.filter(pk=order.pk).update(created_at=past, expires_at=past)


def test_reconcile_grants_a_stripe_order_paid_without_a_notification(
    stripe_simulator, capsys
) -> None:
    package = CreditPackageFactory(credits=500, prices={"USD": 999})
    paid = services.create_stripe_order(UserFactory(), package_id=package.pk)
    unpaid = services.create_stripe_order(UserFactory(), package_id=package.pk)
    fresh = services.create_stripe_order(UserFactory(), package_id=package.pk)
    stripe_simulator.pay(paid.provider_session_id)
    _age(paid, 90)
    _age(unpaid, 90)

    call_command("reconcile_payments", "--older-than-minutes", "60")
    call_command("reconcile_payments", "--older-than-minutes", "60")

    assert PaymentOrder.objects.get(pk=paid.pk).status == "paid"
    assert PaymentOrder.objects.get(pk=unpaid.pk).status == "pending"
    assert PaymentOrder.objects.get(pk=fresh.pk).status == "pending"
    assert list(LedgerEntry.objects.values_list("kind", "amount", "order_id")) == [
        ("purchase", 500, paid.pk)
    ]
    assert "reconciled 2 order(s), 0 error(s)" in capsys.readouterr().out


def test_reconcile_grants_a_wechat_order_whose_query_says_success(wechatpay_simulator) -> None:
    package = CreditPackageFactory(credits=500, prices={"CNY": 3500})
    order = services.create_wechat_order(UserFactory(), package_id=package.pk, trade_type="native")
    wechatpay_simulator.pay(order.out_trade_no)
    _age(order, 90)

    call_command("reconcile_payments", "--older-than-minutes", "60", "--dry-run")
    assert PaymentOrder.objects.get(pk=order.pk).status == "pending"
    call_command("reconcile_payments", "--older-than-minutes", "60")

    assert PaymentOrder.objects.get(pk=order.pk).status == "paid"
    assert LedgerEntry.objects.get().amount == 500


def test_expired_orders_are_closed_at_the_provider_and_canceled(
    stripe_simulator, wechatpay_simulator
) -> None:
    package = CreditPackageFactory(prices={"USD": 999, "CNY": 3500})
    stripe_order = services.create_stripe_order(UserFactory(), package_id=package.pk)
    wechat_order = services.create_wechat_order(
        UserFactory(), package_id=package.pk, trade_type="native"
    )
    live = services.create_stripe_order(UserFactory(), package_id=package.pk)
    _age(stripe_order, 31)
    _age(wechat_order, 31)

    canceled = tasks.expire_pending_orders.delay().get()
    again = tasks.expire_pending_orders.delay().get()

    assert (canceled, again) == (2, 0)
    assert stripe_simulator.sessions[stripe_order.provider_session_id]["status"] == "expired"
    assert wechatpay_simulator.transactions[wechat_order.out_trade_no]["trade_state"] == "CLOSED"
    assert PaymentOrder.objects.get(pk=stripe_order.pk).status == "canceled"
    assert PaymentOrder.objects.get(pk=wechat_order.pk).status == "canceled"
    assert PaymentOrder.objects.get(pk=live.pk).status == "pending"
    assert not LedgerEntry.objects.exists()


def test_an_expired_order_that_was_paid_meanwhile_is_granted_not_canceled(
    wechatpay_simulator,
) -> None:
    package = CreditPackageFactory(credits=500, prices={"CNY": 3500})
    order = services.create_wechat_order(UserFactory(), package_id=package.pk, trade_type="native")
    wechatpay_simulator.pay(order.out_trade_no)
    _age(order, 31)

    services.expire_pending_orders()

    assert PaymentOrder.objects.get(pk=order.pk).status == "paid"
    assert wechatpay_simulator.transactions[order.out_trade_no]["trade_state"] == "SUCCESS"
    assert LedgerEntry.objects.get().amount == 500


def test_the_beat_reconciles_pending_orders_whose_notification_was_lost(
    stripe_simulator, settings
) -> None:
    # given a paid order whose notification never came, and a fresher one
    from config.celery import app

    settings.PAYMENT_RECONCILE_AFTER_MINUTES = 15
    package = CreditPackageFactory(credits=500, prices={"USD": 999})
    lost = services.create_stripe_order(UserFactory(), package_id=package.pk)
    fresh = services.create_stripe_order(UserFactory(), package_id=package.pk)
    stripe_simulator.pay(lost.provider_session_id)
    stripe_simulator.pay(fresh.provider_session_id)
    PaymentOrder.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - timedelta(minutes=16)
    )

    # when the scheduled task runs
    entry = settings.CELERY_BEAT_SCHEDULE["billing-reconcile-orders"]
    assert entry["task"] in app.tasks
    app.tasks[entry["task"]].delay().get()

    # then only the order old enough is settled, and granted once
    assert PaymentOrder.objects.get(pk=lost.pk).status == "paid"
    assert PaymentOrder.objects.get(pk=fresh.pk).status == "pending"
    assert list(LedgerEntry.objects.values_list("kind", "amount", "order_id")) == [
        ("purchase", 500, lost.pk)
    ]
