"""Support actions: each checks its role's permission, asks for a reason, writes
the admin log (on the object and on the customer), and the ledger where credits
move; a refusal changes nothing and says why."""

from __future__ import annotations

import json

import pytest
from allauth.account.models import EmailAddress
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tokens import issue_tokens
from animations.models import AnimationTask
from billing import services as billing
from billing.models import CreditAccount, LedgerEntry, PaymentOrder, PaymentRefund
from billing.simulators import StripeSimulator
from billing.tests.factories import CreditPackageFactory
from billing.tests.simulators import sign
from config.support.tests.conftest import client_for, staff_in
from config.tests.admin import run_action

pytestmark = pytest.mark.django_db

USERS = "/admin/accounts/user/"
TASKS = "/admin/animations/animationtask/"
ORDERS = "/admin/billing/paymentorder/"
ACCOUNTS = "/admin/billing/creditaccount/"


def trail(obj: object) -> list[str]:
    """The admin log's messages about ``obj``, oldest first."""
    return list(
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
        )
        .order_by("id")
        .values_list("change_message", flat=True)
    )


def _paid_through_stripe(user: User, stripe: StripeSimulator) -> PaymentOrder:
    """An order the Stripe simulator knows: created, paid and notified as in production."""
    package = CreditPackageFactory(credits=500, prices={"USD": 999})
    order = billing.create_stripe_order(user, package_id=package.pk)
    payload = json.dumps(
        stripe.event("checkout.session.completed", stripe.pay(order.provider_session_id))
    )
    Client().post(
        "/api/payments/webhook/stripe",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )
    return PaymentOrder.objects.get(pk=order.pk, status="paid")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def page(customer) -> str:
    return f"/admin/support/customer/{customer.user.pk}/"


def test_the_roles_hold_what_the_issue_says() -> None:
    def perms(name: str) -> set[str]:
        group = Group.objects.get(name=name)
        return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}

    support, finance, superusers = perms("Support"), perms("Finance"), perms("Superusers")
    reads = {
        "accounts.view_user",
        "billing.view_ledgerentry",
        "billing.view_paymentorder",
        "billing.view_paymentrefund",
        "animations.view_animationtask",
        "storage.view_file",
    }
    assert reads <= support and reads <= finance
    assert {
        "accounts.resend_verification_user",
        "accounts.sign_out_user",
        "animations.retry_animationtask",
        "animations.cancel_animationtask",
    } <= support
    assert {"billing.refund_paymentorder", "billing.adjust_creditaccount"} <= finance
    money = {
        "billing.refund_paymentorder",
        "billing.adjust_creditaccount",
        "animations.refund_animationtask",
    }
    assert not money & support
    assert "accounts.deactivate_user" not in support | finance
    assert not {p for p in support | finance if p.split(".")[1].startswith(("change_", "delete_"))}
    assert support | finance | {"accounts.deactivate_user", "auth.change_group"} <= superusers


def test_a_support_agent_cannot_refund_a_payment(
    support_client, customer, stripe_simulator
) -> None:
    order = customer.stripe_order
    changelist = support_client.get(ORDERS)
    customer_page = support_client.get(page(customer)).content.decode()

    chosen = support_client.post(ORDERS, {"action": "refund", "_selected_action": [str(order.pk)]})
    applied = support_client.post(
        ORDERS,
        {"action": "refund", "_selected_action": [str(order.pk)], "apply": "1", "reason": "x"},
    )

    assert 'value="refund"' not in changelist.content.decode()
    assert 'value="refund"' not in customer_page
    # Payments offer this role no action at all: a posted one is only the list again
    assert chosen.status_code == 200 and "form" not in chosen.context
    assert applied.status_code == 200 and "form" not in applied.context
    assert stripe_simulator.refunds == []
    assert not PaymentRefund.objects.filter(order=order).exists()
    assert PaymentOrder.objects.get(pk=order.pk).status == "paid"
    assert trail(order) == []


def test_a_support_agent_cannot_adjust_credits_or_refund_job_credits(
    support_client, customer
) -> None:
    account = CreditAccount.objects.get(user=customer.user)
    before = LedgerEntry.objects.count()

    adjust = run_action(support_client, ACCOUNTS, "adjust_credits", [account.pk], amount="50")
    refund = run_action(support_client, TASKS, "refund_tasks", [customer.succeeded.pk], follow=True)

    assert adjust.status_code == 200 and "form" not in adjust.context
    assert "No action selected." in messages_of(refund)
    assert LedgerEntry.objects.count() == before
    assert CreditAccount.objects.get(pk=account.pk).balance == account.balance


def test_finance_refunds_with_a_reason_into_the_log_and_the_ledger_and_returns(
    finance_client, customer, stripe_simulator
) -> None:
    order = _paid_through_stripe(customer.user, stripe_simulator)
    balance = CreditAccount.objects.get(user=customer.user).balance

    response = run_action(
        finance_client, ORDERS, "refund", [order.pk], reason="charged twice", next=page(customer)
    )

    assert response.status_code == 302 and response["Location"] == page(customer)
    [sent] = stripe_simulator.refunds
    assert (sent["payment_intent"], sent["amount"]) == (order.provider_payment_id, 999)
    refund = PaymentRefund.objects.get(order=order)
    assert (refund.status, refund.reason, refund.staff.email) == (
        "succeeded",
        "charged twice",
        "finance@example.com",
    )
    entry = LedgerEntry.objects.filter(kind="refund").latest("id")
    assert (entry.amount, entry.order_id) == (-500, order.pk)
    assert CreditAccount.objects.get(user=customer.user).balance == balance - 500
    assert trail(order) == ["Refunded (refund succeeded). Reason: charged twice"]
    assert trail(customer.user) == [
        f"payment order {order.pk}: Refunded (refund succeeded). Reason: charged twice"
    ]


def test_finance_adjusts_credits_once_and_a_take_back_past_available_is_refused(
    finance_client, customer
) -> None:
    account = CreditAccount.objects.get(user=customer.user)
    balance = account.balance

    granted = run_action(
        finance_client, ACCOUNTS, "adjust_credits", [account.pk], reason="goodwill", amount="50"
    )
    refused = run_action(
        finance_client,
        ACCOUNTS,
        "adjust_credits",
        [account.pk],
        reason="chargeback",
        amount="-100000",
        follow=True,
    )

    assert granted.status_code == 302
    entry = LedgerEntry.objects.get(kind="adjustment")
    assert (entry.amount, entry.reason, entry.staff.email) == (
        50,
        "goodwill",
        "finance@example.com",
    )
    assert CreditAccount.objects.get(pk=account.pk).balance == balance + 50
    assert any("insufficient_credits" in m for m in messages_of(refused))
    assert LedgerEntry.objects.filter(kind="adjustment").count() == 1
    assert trail(account) == ["Adjusted credits by +50. Reason: goodwill"]


def test_support_retries_a_failed_job_with_a_reason_and_its_credits_are_reserved_again(
    support_client, customer
) -> None:
    task = customer.failed
    before = CreditAccount.objects.get(user=customer.user)

    response = run_action(
        support_client,
        TASKS,
        "retry_tasks",
        [task.pk],
        reason="provider outage",
        next=page(customer),
    )

    assert response["Location"] == page(customer)
    task.refresh_from_db()
    assert (task.status, task.attempts) == ("queued", 2)
    reserve = LedgerEntry.objects.get(ref=f"animation_task:{task.pk}:2")
    assert (reserve.kind, reserve.reserved_delta) == ("reserve", 12)
    after = CreditAccount.objects.get(user=customer.user)
    assert (after.balance, after.reserved) == (before.balance, before.reserved + 12)
    assert trail(task) == ["Retried. Reason: provider outage"]
    assert trail(customer.user) == [f"animation task {task.pk}: Retried. Reason: provider outage"]


def test_support_cancels_a_queued_job_and_its_credits_are_released(
    support_client, customer
) -> None:
    task = customer.queued

    run_action(support_client, TASKS, "cancel_tasks", [task.pk], reason="customer asked")

    assert AnimationTask.objects.get(pk=task.pk).status == "canceled"
    release = LedgerEntry.objects.get(ref=task.ref, kind="release")
    assert release.reserved_delta == -12
    assert CreditAccount.objects.get(user=customer.user).reserved == 0
    assert trail(task) == ["Canceled. Reason: customer asked"]


def test_a_refused_action_changes_nothing_and_says_why(support_client, customer) -> None:
    entries = LedgerEntry.objects.count()

    response = run_action(
        support_client, TASKS, "retry_tasks", [customer.succeeded.pk], follow=True
    )

    assert any(
        m.startswith(f"Refused: {customer.succeeded.pk}: task_not_retryable")
        for m in messages_of(response)
    )
    assert "Retried: 0." in messages_of(response)
    assert LedgerEntry.objects.count() == entries
    assert trail(customer.succeeded) == []


def test_an_action_without_a_reason_does_nothing(support_client, customer) -> None:
    response = run_action(support_client, TASKS, "cancel_tasks", [customer.queued.pk], reason=" ")

    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert AnimationTask.objects.get(pk=customer.queued.pk).status == "queued"
    assert trail(customer.queued) == []


def test_support_resends_the_verification_email_once_per_cooldown(
    support_client, customer, mailoutbox
) -> None:
    first = run_action(support_client, USERS, "resend_verification_email", [customer.user.pk])
    again = run_action(
        support_client, USERS, "resend_verification_email", [customer.user.pk], follow=True
    )
    verified = UserFactory(email="done@example.com")
    EmailAddress.objects.create(user=verified, email=verified.email, verified=True, primary=True)
    nothing = run_action(
        support_client, USERS, "resend_verification_email", [verified.pk], follow=True
    )

    assert first.status_code == 302
    [mail] = mailoutbox
    assert mail.to == ["mei@example.com"]
    assert "/verify-email?key=" in mail.body
    assert any("throttled" in m for m in messages_of(again))
    assert any("no_email_to_verify" in m for m in messages_of(nothing))
    assert trail(customer.user) == [
        "Sent the verification email (mei@example.com). Reason: ticket 42"
    ]


def test_support_signs_a_customer_out_everywhere(support_client, customer, api_client) -> None:
    tokens = issue_tokens(customer.user, method="password")

    run_action(
        support_client, USERS, "sign_out_everywhere", [customer.user.pk], reason="lost phone"
    )

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api_client.get("/api/auth/me").status_code == 401
    assert User.objects.get(pk=customer.user.pk).is_active is True
    assert trail(customer.user) == ["Signed out everywhere. Reason: lost phone"]


def test_only_superusers_deactivate_and_nobody_deactivates_themselves(
    support_client, superuser_client, customer
) -> None:
    by_support = run_action(support_client, USERS, "deactivate", [customer.user.pk])
    root = User.objects.get(email="root@example.com")
    by_root = run_action(superuser_client, USERS, "deactivate", [customer.user.pk], reason="fraud")
    themselves = run_action(superuser_client, USERS, "deactivate", [root.pk], follow=True)
    in_group = client_for(staff_in("Superusers", email="lead@example.com"))
    by_group = run_action(in_group, USERS, "deactivate", [UserFactory().pk], reason="spam")

    assert by_support.status_code == 302
    assert by_root.status_code == 302 and by_group.status_code == 302
    assert User.objects.get(pk=customer.user.pk).is_active is False
    assert any("not_allowed" in m for m in messages_of(themselves))
    assert User.objects.get(pk=root.pk).is_active is True
    assert trail(customer.user) == ["Deactivated. Reason: fraud"]
    assert User.objects.filter(is_active=False).count() == 2
