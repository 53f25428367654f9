"""A worker dying between provider success and the result copy, and two dispatchers
racing: the job finishes once, is charged once, and is polled by one worker at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from animations import services
from animations.models import AnimationTask
from animations.tests.helpers import account, beat, create, drive, final, funded_user
from billing.services import check_ledger
from config.tests.concurrency import run_together
from storage import services as storage
from storage.models import File


@pytest.mark.django_db(transaction=True)
def test_copy_failure_after_provider_success_is_finished_by_the_next_run(provider) -> None:
    # Given the provider succeeds but our first copy of the result fails
    provider.configure(result_failures=1)
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    beat(lambda: AnimationTask.objects.get(pk=task_id).provider_status == "SUCCEEDED")
    row = AnimationTask.objects.get(pk=task_id)
    # Then the success is recorded but nothing is charged or stored yet, and the
    # task was given back to be copied on a later beat (no worker slept on it)
    assert row.status == "running"
    assert row.result is None
    assert row.credits_charged == 0
    assert (row.lease_owner, row.lease_until, row.next_poll_at is not None) == ("", None, True)
    assert account(user) == (1000, 12)
    queries = provider.call_count("query")
    # When the next dispatcher runs
    beat(final(task_id))
    # Then it finishes from the recorded result, without asking the provider again
    row.refresh_from_db()
    assert row.status == "succeeded"
    assert provider.call_count("query") == queries
    assert File.objects.filter(owner=user, kind="result").count() == 1
    assert account(user) == (988, 0)
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_worker_killed_holding_the_lease_is_taken_over_when_it_expires(provider) -> None:
    # Given a worker recorded provider success, then died holding the lease
    provider.configure(result_failures=1)
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    drive(lambda: AnimationTask.objects.get(pk=task_id).provider_status == "SUCCEEDED")
    until = timezone.now() + timedelta(seconds=0.5)
    AnimationTask.objects.filter(pk=task_id).update(
        lease_owner="dead-worker", lease_until=until, next_poll_at=timezone.now()
    )
    # When the dispatcher runs before the lease expires, it leaves the task alone
    services.dispatch()
    assert AnimationTask.objects.get(pk=task_id).status == "running"
    # And after it expires, it finishes the task once
    drive(final(task_id))
    row = AnimationTask.objects.get(pk=task_id)
    assert row.status == "succeeded"
    assert row.credits_charged == 12
    assert File.objects.filter(owner=user, kind="result").count() == 1
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_racing_poll_each_task_once_and_charge_once(provider, settings) -> None:
    # Given six users' jobs and room for all of them at the provider
    settings.DASHSCOPE_MAX_IN_FLIGHT = 6
    provider.configure(max_concurrency=6)
    users = [funded_user(1000) for _ in range(6)]
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    ids = [create(u).json()["id"] for u in users]
    settings.DASHSCOPE_MAX_IN_FLIGHT = 6

    # When two dispatchers run at the same time
    run_together(2, lambda _n: drive(lambda: all(final(i)() for i in ids), timeout=60))
    # Then every job ran once at the provider and was charged once
    rows = list(AnimationTask.objects.filter(pk__in=ids))
    assert {r.status for r in rows} == {"succeeded"}
    assert provider.call_count("submit", 200) == 6
    assert len({r.provider_task_id for r in rows}) == 6
    # Each provider query belongs to exactly one claim: no task was polled twice at once
    assert provider.call_count("query") == sum(r.polls for r in rows)
    assert [account(u) for u in users] == [(988, 0)] * 6
    assert File.objects.filter(kind="result").count() == 6
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_worker_killed_after_the_copy_before_the_capture_is_charged_once(provider) -> None:
    # Given the provider succeeded, and a worker stored the result copy then died
    # before the capture (its first attempt at the copy failed, its second stored it)
    provider.configure(result_failures=1)
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    drive(lambda: AnimationTask.objects.get(pk=task_id).provider_status == "SUCCEEDED")
    row = AnimationTask.objects.get(pk=task_id)
    copy = storage.mirror_result(user, row.provider_result_url, key=f"{row.ref}:result")
    assert (row.status, row.credits_charged) == ("running", 0)
    queries = provider.call_count("query")
    # When the next dispatcher runs
    drive(final(task_id))
    # Then it adopts that copy (no second file), captures once, and asks the provider nothing
    row.refresh_from_db()
    assert (row.status, row.result_id, row.credits_charged) == ("succeeded", copy.id, 12)
    assert File.objects.filter(owner=user, kind="result").count() == 1
    assert provider.call_count("query") == queries
    assert account(user) == (988, 0)
    assert check_ledger() == []
