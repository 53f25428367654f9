"""Reservations racing on real MariaDB connections never overdraw an account."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

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
    stop = threading.Event()
    reports: list[list[str]] = []

    def spend(user, worker: int) -> None:
        try:
            n = 0
            while not stop.is_set() and n < 200:
                ref = f"job:{worker}:{n}"
                services.reserve(user, 3, ref=ref, key=f"{ref}:r")
                services.capture(user, 2, ref=ref, key=f"{ref}:c")
                n += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=spend, args=(u, i)) for i, u in enumerate(users)]
    for thread in threads:
        thread.start()

    # when the check runs meanwhile
    try:
        for _ in range(10):
            reports.append(services.check_ledger())
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    # then it never saw drift
    assert reports == [[]] * 10
