"""The ledger's rules: reserve, capture, release, refund, adjust, each once per key."""

from __future__ import annotations

import pytest

from accounts.models import User
from accounts.tests.factories import UserFactory
from billing import services
from billing.errors import InsufficientCredits, NoOpenReservation
from billing.models import CreditAccount, LedgerEntry

pytestmark = pytest.mark.django_db

REF = "job:6f1c0b1e-0000-4000-8000-000000000001"


def _user_with(credits: int) -> User:
    user = UserFactory()
    if credits:
        services.grant_bonus(user, credits, key="seed")
    return user


def _account(user) -> CreditAccount:
    return CreditAccount.objects.get(user=user)


def test_reserve_moves_credits_to_reserved_without_changing_balance() -> None:
    user = _user_with(100)

    entry = services.reserve(user, 30, ref=REF, key="r1")

    account = _account(user)
    assert (account.balance, account.reserved, account.available) == (100, 30, 70)
    assert (entry.kind, entry.amount, entry.reserved_delta) == ("reserve", 0, 30)
    assert services.open_reservations(account) == {REF: 30}


def test_reserve_beyond_available_is_refused_with_needed_and_available() -> None:
    user = _user_with(50)
    services.reserve(user, 40, ref="other", key="r0")

    with pytest.raises(InsufficientCredits) as caught:
        services.reserve(user, 20, ref=REF, key="r1")

    assert caught.value.extra == {"needed": 20, "available": 10}
    assert _account(user).reserved == 40
    assert not LedgerEntry.objects.filter(idempotency_key="r1").exists()


def test_repeated_key_returns_the_first_entry_and_changes_nothing() -> None:
    user = _user_with(100)
    first = services.reserve(user, 30, ref=REF, key="r1")

    again = services.reserve(user, 30, ref=REF, key="r1")

    assert again.pk == first.pk
    assert _account(user).reserved == 30
    assert LedgerEntry.objects.filter(account__user=user).count() == 2


def test_capture_charges_the_cost_and_releases_the_rest_of_the_reservation() -> None:
    user = _user_with(100)
    services.reserve(user, 30, ref=REF, key="r1")

    entry = services.capture(user, 25, ref=REF, key="c1")

    account = _account(user)
    assert (account.balance, account.reserved) == (75, 0)
    assert (entry.amount, entry.reserved_delta) == (-25, -30)
    assert services.open_reservations(account) == {}


def test_capture_never_charges_more_than_was_reserved() -> None:
    user = _user_with(100)
    services.reserve(user, 30, ref=REF, key="r1")

    entry = services.capture(user, 45, ref=REF, key="c1")

    assert entry.amount == -30
    assert _account(user).balance == 70


def test_capture_after_release_is_a_conflict_and_charges_nothing() -> None:
    user = _user_with(100)
    services.reserve(user, 30, ref=REF, key="r1")
    services.release(user, ref=REF, key="rel1")

    with pytest.raises(NoOpenReservation):
        services.capture(user, 30, ref=REF, key="c1")

    assert (_account(user).balance, _account(user).reserved) == (100, 0)


def test_release_gives_back_the_open_reservation_once() -> None:
    user = _user_with(100)
    services.reserve(user, 30, ref=REF, key="r1")

    first = services.release(user, ref=REF, key="rel1")
    second = services.release(user, ref=REF, key="rel2")

    assert first is not None and first.reserved_delta == -30
    assert second is None
    assert (_account(user).balance, _account(user).reserved) == (100, 0)


def test_refund_takes_back_only_unspent_credits_and_reports_the_rest() -> None:
    user = _user_with(100)
    services.reserve(user, 30, ref=REF, key="r1")
    services.capture(user, 30, ref=REF, key="c1")
    services.reserve(user, 20, ref="job:2", key="r2")

    entry = services.refund(user, 100, ref="payment_order:x", key="refund-x")

    assert (entry.amount, entry.shortfall) == (-50, 50)
    account = _account(user)
    assert (account.balance, account.reserved, account.available) == (20, 20, 0)


def test_adjust_needs_a_reason_and_cannot_take_reserved_credits() -> None:
    user = _user_with(100)
    staff = UserFactory(is_staff=True)
    services.reserve(user, 80, ref=REF, key="r1")

    with pytest.raises(ValueError):
        services.adjust(user, 10, reason="  ", key="a0", staff=staff)
    with pytest.raises(InsufficientCredits):
        services.adjust(user, -30, reason="abuse", key="a1", staff=staff)
    entry = services.adjust(user, -20, reason="duplicate bonus", key="a2", staff=staff)

    assert (entry.amount, entry.staff_id, entry.reason) == (-20, staff.pk, "duplicate bonus")
    assert (_account(user).balance, _account(user).reserved) == (80, 80)


def test_ledger_entries_cannot_be_updated_or_deleted() -> None:
    user = _user_with(10)
    entry = LedgerEntry.objects.get(account__user=user)

    entry.amount = 1000
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()

    assert LedgerEntry.objects.get(pk=entry.pk).amount == 10


def test_database_refuses_a_reservation_above_the_balance() -> None:
    from django.db import IntegrityError, transaction

    user = _user_with(10)

    with pytest.raises(IntegrityError), transaction.atomic():
        CreditAccount.objects.filter(user=user).update(reserved=11)

    assert _account(user).reserved == 0


def test_check_ledger_reports_an_account_that_drifted_from_its_entries() -> None:
    user = _user_with(10)
    CreditAccount.objects.filter(user=user).update(balance=15)

    problems = services.check_ledger()

    assert len(problems) == 2
    assert "entries sum to 10, balance is 15" in problems[0]
    CreditAccount.objects.filter(user=user).update(balance=10)


def test_database_refuses_an_entry_of_an_unknown_kind() -> None:
    from django.db import IntegrityError, transaction

    account = services.account_for(UserFactory())

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            account=account, kind="gift", balance_after=0, reserved_after=0, idempotency_key="k"
        )

    assert not LedgerEntry.objects.exists()
