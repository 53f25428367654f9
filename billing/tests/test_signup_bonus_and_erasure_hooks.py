from __future__ import annotations

import pytest

from accounts.hooks import registered, run_email_verified_hooks, run_erasure_hooks
from accounts.tests.factories import UserFactory
from billing.models import CreditAccount, LedgerEntry, PaymentOrder, ProviderEvent
from billing.tests.factories import PaymentOrderFactory

pytestmark = pytest.mark.django_db


def test_billing_registers_with_the_account_hooks() -> None:
    assert "billing" in registered()["email_verified"]
    assert "billing" in registered()["erasure"]
    # Registering grants nothing: the bonus waits for a verified address.
    assert "billing" not in registered()["signup"]


def test_a_verified_email_hook_grants_the_configured_bonus_once(settings) -> None:
    settings.SIGNUP_BONUS_CREDITS = 100
    user = UserFactory()

    run_email_verified_hooks(user, user.email)
    run_email_verified_hooks(user, user.email)

    assert CreditAccount.objects.get(user=user).balance == 100
    assert list(LedgerEntry.objects.filter(account__user=user).values_list("kind", "amount")) == [
        ("signup_bonus", 100)
    ]


def test_erasure_keeps_orders_and_ledger_but_drops_payer_details() -> None:
    order = PaymentOrderFactory(provider="wechat", currency="CNY", payer_openid="o-123")
    ProviderEvent.objects.create(
        provider="wechat",
        event_id="EV-1",
        event_type="TRANSACTION.SUCCESS",
        payload={"resource": {"payer": {"openid": "o-123"}}},
        headers={"Wechatpay-Nonce": "n"},
        order=order,
    )

    run_erasure_hooks(order.user)
    run_erasure_hooks(order.user)

    order.refresh_from_db()
    event = ProviderEvent.objects.get(event_id="EV-1")
    assert order.payer_openid == ""
    assert event.payload == {"id": "EV-1", "type": "TRANSACTION.SUCCESS", "redacted": True}
    assert event.headers == {}


def test_deleting_the_account_keeps_orders_and_ledger_anonymised(api_client) -> None:
    from billing import services

    order = PaymentOrderFactory(provider="wechat", currency="CNY", payer_openid="o-123")
    services.grant_bonus(order.user, 10, key="seed")
    api_client.force_authenticate(order.user)

    response = api_client.delete("/api/users/account", {"password": "correct-horse-battery-staple"})

    assert response.status_code == 204
    order.refresh_from_db()
    assert order.payer_openid == ""
    assert LedgerEntry.objects.filter(account__user_id=order.user_id).count() == 1
    assert CreditAccount.objects.get(user_id=order.user_id).balance == 10


def test_erasure_has_the_expiry_task_close_the_users_open_payments(wechatpay_simulator) -> None:
    # given an erased user with a WeChat payment still open, and another user's
    from billing import services
    from billing.tests.factories import CreditPackageFactory

    package = CreditPackageFactory(prices={"CNY": 3500})
    erased = services.create_wechat_order(UserFactory(), package_id=package.pk, trade_type="native")
    kept = services.create_wechat_order(UserFactory(), package_id=package.pk, trade_type="native")
    run_erasure_hooks(erased.user)

    # when the expiry task runs
    canceled = services.expire_pending_orders()

    # then only the erased user's payment is closed at WeChat and canceled
    assert canceled == 1
    assert wechatpay_simulator.transactions[erased.out_trade_no]["trade_state"] == "CLOSED"
    assert wechatpay_simulator.transactions[kept.out_trade_no]["trade_state"] == "NOTPAY"
    assert PaymentOrder.objects.get(pk=kept.pk).status == "pending"
    assert not LedgerEntry.objects.exists()
