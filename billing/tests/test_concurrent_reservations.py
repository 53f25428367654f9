"""Reservations racing on real MariaDB connections never overdraw an account."""

from __future__ import annotations

import threading

import pytest

from accounts.tests.factories import UserFactory
from billing import services
from billing.errors import InsufficientCredits
from billing.models import CreditAccount, LedgerEntry
from config.tests.concurrency import run_together


@pytest.mark.django_db(transaction=True)
def test_thirty_concurrent_reservations_against_ten_affordable_leave_exactly_ten() -> None:
    # given a balance that covers ten reservations of 10
    user = UserFactory()
    services.grant_bonus(user, 100, key="seed")

    def attempt(n: int) -> str:
        try:
            services.reserve(user, 10, ref=f"job:{n}", key=f"reserve-{n}")
        except InsufficientCredits:
            return "refused"
        except Exception as exc:  # a deadlock or a constraint error would land here
            return f"error: {exc!r}"
        return "reserved"

    # when thirty try at once
    outcomes = run_together(30, attempt)

    # then exactly ten hold credits, nothing is available, twenty were refused cleanly
    assert sorted(outcomes).count("reserved") == 10
    assert sorted(outcomes).count("refused") == 20
    account = CreditAccount.objects.get(user=user)
    assert (account.balance, account.reserved, account.available) == (100, 100, 0)
    assert LedgerEntry.objects.filter(account=account, kind="reserve").count() == 10
    assert len(services.open_reservations(account)) == 10


@pytest.mark.django_db(transaction=True)
def test_the_same_key_sent_concurrently_reserves_once() -> None:
    user = UserFactory()
    services.grant_bonus(user, 100, key="seed")
    entries = run_together(10, lambda _n: services.reserve(user, 10, ref="job:1", key="same").pk)

    assert len(entries) == 10 and len(set(entries)) == 1
    assert CreditAccount.objects.get(user=user).reserved == 10


@pytest.mark.django_db(transaction=True)
def test_check_ledger_reports_no_drift_while_credits_move() -> None:
    # given accounts whose credits keep moving in other threads
    users = [UserFactory() for _ in range(4)]
    for user in users:
        services.grant_bonus(user, 1000, key="seed")
    moving = [threading.Event() for _ in users]
    stop = threading.Event()

    def spend(worker: int) -> tuple[str, int]:
        user, moved = users[worker], 0
        while not stop.is_set() and moved < 300:
            ref = f"job:{worker}:{moved}"
            services.reserve(user, 3, ref=ref, key=f"{ref}:r")
            services.capture(user, 2, ref=ref, key=f"{ref}:c")
            moved += 1
            moving[worker].set()
        return "spent", moved

    def check() -> tuple[str, list[list[str]]]:
        try:
            assert all(event.wait(10) for event in moving), "a spender never moved credits"
            return "checked", [services.check_ledger() for _ in range(10)]
        finally:
            stop.set()

    # when the check runs ten times once every account is moving
    results = run_together(5, lambda n: check() if n == 0 else spend(n - 1))

    # then every worker finished, each spender moved credits, and the check never saw drift
    assert sorted(kind for kind, _ in results) == ["checked"] + ["spent"] * 4
    assert all(moved >= 1 for kind, moved in results if kind == "spent")
    assert [reports for kind, reports in results if kind == "checked"] == [[[]] * 10]
