"""No dispatcher beat sleeps: a spent provider rate is waited out by rescheduling
the task (a failed result copy likewise: test_crashes_and_races_never_charge_twice),
so one slow step never holds up the other tasks of the beat."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from animations import services
from animations.models import AnimationTask
from animations.tests.helpers import (
    beat,
    create,
    drive,
    final,
    forbid_sleep,
    funded_user,
)


def _own_key(settings) -> None:
    # A key of this test alone: the shared limiter's windows are per key.
    key = f"sk-sleepless-{uuid.uuid4().hex[:12]}"
    settings.DASHSCOPE_API_KEYS = {"cn": key, "global": key}


@pytest.mark.django_db(transaction=True)
def test_a_spent_query_rate_polls_what_it_allows_and_leaves_the_rest_due(
    provider, settings
) -> None:
    # Given three tasks PENDING at the provider, all due, and a key allowed two
    # queries a second
    _own_key(settings)
    provider.configure(schedule_delay=1e9, max_concurrency=3)
    settings.DASHSCOPE_MAX_IN_FLIGHT = 3
    ids = [create(funded_user(1000)).json()["id"] for _ in range(3)]
    services.fill_slots()  # the first create kicked a run; the others wait for the next
    assert set(AnimationTask.objects.values_list("status", flat=True)) == {"submitted"}
    settings.ANIMATIONS_TIME_SCALE = 1.0
    settings.DASHSCOPE_QUERY_RPS = 2
    AnimationTask.objects.update(next_poll_at=timezone.now())
    queries = provider.call_count("query")
    before = dict(AnimationTask.objects.values_list("pk", "polls"))

    # When one beat polls, sleeping nowhere
    with forbid_sleep():
        polled = services.poll_due()

    # Then two were asked, the beat stopped there, and the third is free and due soon
    assert polled == 2
    assert provider.call_count("query") == queries + 2
    rows = list(AnimationTask.objects.filter(pk__in=ids))
    assert sorted(r.polls - before[r.pk] for r in rows) == [0, 1, 1]
    waiting = next(r for r in rows if r.polls == before[r.pk])
    assert (waiting.status, waiting.lease_owner, waiting.lease_until) == ("submitted", "", None)
    assert waiting.next_poll_at <= timezone.now() + timedelta(seconds=2)
    # And a later beat, once a token is free, polls it
    deadline = time.monotonic() + 5
    while AnimationTask.objects.get(pk=waiting.pk).polls == before[waiting.pk]:
        assert time.monotonic() < deadline, "the waiting task was never polled"
        with forbid_sleep():
            services.poll_due()
        time.sleep(0.1)
    assert {r.status for r in AnimationTask.objects.filter(pk__in=ids)} == {"submitted"}


@pytest.mark.django_db(transaction=True)
def test_a_spent_create_rate_claims_nothing_more_and_counts_no_try(provider, settings) -> None:
    # Given two queued tasks, room for both, and a key allowed one create a second
    _own_key(settings)
    provider.configure(schedule_delay=1e9, max_concurrency=2)
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    ids = [create(funded_user(1000)).json()["id"] for _ in range(2)]
    settings.DASHSCOPE_MAX_IN_FLIGHT = 2
    settings.ANIMATIONS_TIME_SCALE = 1.0
    settings.DASHSCOPE_SUBMIT_RPS = 1

    # When one beat fills the slots, sleeping nowhere
    with forbid_sleep():
        sent = services.fill_slots()

    # Then one create call went out; the other task is untouched: still queued,
    # no try counted and not marked as served (its user keeps their turn)
    assert sent == 1
    assert provider.call_count("submit") == 1
    left = AnimationTask.objects.get(pk__in=ids, status="queued")
    assert (left.submit_tries, left.submit_sent_at, left.lease_owner) == (0, None, "")
    assert AnimationTask.objects.filter(pk__in=ids, status="submitted").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_whole_job_runs_through_beats_that_never_sleep(provider) -> None:
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    beat(final(task_id))
    assert AnimationTask.objects.get(pk=task_id).status == "succeeded"
    drive(final(task_id))  # the ordinary helper agrees


@pytest.mark.django_db(transaction=True)
def test_a_provider_cancel_without_a_token_is_retried_later_by_the_worker(
    provider, settings, celery_worker
) -> None:
    from animations import tasks

    # Given a task PENDING at the provider and a key whose one query a second is spent
    _own_key(settings)
    provider.configure(schedule_delay=1e9)
    task_id = create(funded_user(1000)).json()["id"]
    drive(lambda: AnimationTask.objects.get(pk=task_id).status == "submitted")
    row = AnimationTask.objects.get(pk=task_id)
    settings.ANIMATIONS_TIME_SCALE = 1.0
    settings.DASHSCOPE_QUERY_RPS = 1
    services.client_for(row.region).query(str(row.provider_task_id))

    # When the worker is asked to cancel it there
    asked = time.monotonic()
    tasks.cancel_at_provider.delay(row.region, str(row.provider_task_id))

    # Then its first try sends nothing, and a retry (a countdown, not a sleep) cancels it
    deadline = time.monotonic() + 15
    while provider.tasks[str(row.provider_task_id)].status != "CANCELED":
        assert time.monotonic() < deadline, "the provider cancel was never retried"
        time.sleep(0.1)
    assert provider.call_count("cancel") == 1
    assert time.monotonic() - asked >= 0.9  # the retry's countdown (1 s), not a first try
