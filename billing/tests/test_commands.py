from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.tests.factories import UserFactory
from billing import services
from billing.models import CreditAccount, LedgerEntry, PaymentOrder

pytestmark = pytest.mark.django_db


def test_check_ledger_passes_on_an_exact_ledger(capsys) -> None:
    services.grant_bonus(UserFactory(), 10, key="seed")

    call_command("check_ledger")

    assert capsys.readouterr().out.strip() == "Ledger OK."


def test_check_ledger_fails_loudly_on_drift(capsys) -> None:
    user = UserFactory()
    services.grant_bonus(user, 10, key="seed")
    CreditAccount.objects.filter(user=user).update(balance=12)

    with pytest.raises(CommandError, match="2 problem"):
        call_command("check_ledger")

    assert "entries sum to 10, balance is 12" in capsys.readouterr().err
    CreditAccount.objects.filter(user=user).update(balance=10)


def test_adjust_credits_needs_a_reason_and_applies_once_when_run_twice() -> None:
    user = UserFactory(email="ann@example.com")

    with pytest.raises(CommandError):
        call_command("adjust_credits", "ann@example.com", "50", "--reason", " ")
    call_command("adjust_credits", "ann@example.com", "50", "--reason", "support ticket 42")
    call_command("adjust_credits", "ann@example.com", "50", "--reason", "support ticket 42")
    call_command("adjust_credits", "ann@example.com", "-20", "--reason", "x", "--dry-run")

    entry = LedgerEntry.objects.get(account__user=user)
    assert (entry.kind, entry.amount, entry.reason) == ("adjustment", 50, "support ticket 42")


def test_adjust_credits_refuses_to_take_more_than_is_available() -> None:
    user = UserFactory(email="bob@example.com")
    services.grant_bonus(user, 10, key="seed")

    with pytest.raises(CommandError, match="Refused"):
        call_command("adjust_credits", "bob@example.com", "-11", "--reason", "abuse")

    assert CreditAccount.objects.get(user=user).balance == 10


def test_replay_events_needs_a_selection() -> None:
    with pytest.raises(CommandError):
        call_command("replay_events")


def test_seed_packages_creates_defaults_once() -> None:
    from billing.models import CreditPackage

    CreditPackage.objects.all().delete()  # the defaults of the first migrate
    call_command("seed_packages")
    call_command("seed_packages")

    assert list(CreditPackage.objects.values_list("name", "credits")) == [
        ("Starter", 100),
        ("Standard", 500),
        ("Pro", 1200),
    ]


def test_replay_events_reports_events_that_still_fail(capsys) -> None:
    from billing.models import ProviderEvent

    event = ProviderEvent.objects.create(
        provider="stripe",
        event_id="evt_orphan",
        event_type="checkout.session.completed",
        payload={
            "id": "evt_orphan",
            "data": {
                "object": {
                    "object": "checkout.session",
                    "metadata": {"order_id": "00000000-0000-4000-8000-000000000000"},
                }
            },
        },
        status="failed",
    )

    call_command("replay_events", "--failed", "--dry-run")
    with pytest.raises(CommandError, match="1 event"):
        call_command("replay_events", "--failed")

    event.refresh_from_db()
    assert (event.status, event.attempts) == ("failed", 1)
    assert "No order matches" in event.error
    assert f"{event.pk} failed" in capsys.readouterr().out


def test_check_ledger_reports_reservations_another_app_does_not_hold(capsys) -> None:
    # given an open reservation that the app owning it no longer knows about
    user = UserFactory()
    services.grant_bonus(user, 50, key="seed")
    services.reserve(user, 20, ref="animation_task:gone", key="r")

    def tasks_hold_nothing() -> list[str]:
        return [
            f"{ref}: {amount} reserved, task holds 0"
            for ref, amount in services.open_reservations(services.account_for(user)).items()
        ]

    # when the ledger is checked
    with services.ledger.reservation_checks.override() as checks:
        checks.register("animations")(tasks_hold_nothing)
        with pytest.raises(CommandError, match="1 problem"):
            call_command("check_ledger")

    # then the drift is named, and the balance was not touched
    assert capsys.readouterr().err.strip() == (
        "animations: animation_task:gone: 20 reserved, task holds 0"
    )
    assert CreditAccount.objects.get(user=user).balance == 50
    services.release(user, ref="animation_task:gone", key="rel")


def test_check_ledger_reports_a_paid_order_without_credits_and_credits_without_payment(
    capsys,
) -> None:
    from billing.tests.factories import PaymentOrderFactory

    # given a paid order that granted nothing, and a granted one no longer paid
    ungranted = PaymentOrderFactory(status="paid")
    granted = PaymentOrderFactory(status="paid")
    entry = services.grant_purchase(granted)
    PaymentOrder.objects.filter(pk=granted.pk).update(status="failed")

    with pytest.raises(CommandError, match="2 problem"):
        call_command("check_ledger")

    assert capsys.readouterr().err.splitlines() == [
        f"order {ungranted.pk}: paid, no purchase entry",
        f"order {granted.pk}: purchase entry {entry.pk}, order not paid",
    ]
    PaymentOrder.objects.filter(pk=ungranted.pk).delete()
    PaymentOrder.objects.filter(pk=granted.pk).update(status="paid")
