"""The provider limiter fails closed: while its Redis is down nothing is sent to
DashScope (a window nobody can read is no permission to call), the dispatcher
carries on without an error, a person's cancel answers 503 with Retry-After, and
once Redis is back the work goes out as usual. On a Redis of the test's own."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from animations import services
from animations.models import AnimationTask
from animations.tests.helpers import account, client_for, create, drive, final, funded_user
from billing.services import check_ledger


def _limiter_unavailable() -> float:
    value = REGISTRY.get_sample_value(
        "animate_dependency_unavailable_total",
        {"dependency": "redis", "use": "provider_limiter"},
    )
    return value or 0.0


@pytest.mark.django_db(transaction=True)
def test_nothing_is_sent_while_the_limiter_is_down_and_all_of_it_after(
    provider, own_redis_limiter, settings
) -> None:
    # Given a queued task (the create's own dispatch had no slot)
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    settings.DASHSCOPE_MAX_IN_FLIGHT = 1
    before = _limiter_unavailable()
    # When the dispatcher beats while Redis is down
    with own_redis_limiter.down():
        reports = [services.dispatch() for _ in range(3)]
        # Then it raised nothing and sent nothing: the task waits, queued
        assert [r.submitted for r in reports] == [0, 0, 0]
        assert AnimationTask.objects.get(pk=task_id).status == "queued"
        assert provider.call_count("submit") == 0
        assert _limiter_unavailable() >= before + 3
    # And once Redis is back the task runs, sent once, charged once
    drive(final(task_id))
    assert AnimationTask.objects.get(pk=task_id).status == "succeeded"
    assert provider.call_count("submit") == 1
    assert account(user) == (988, 0)
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_a_cancel_while_the_limiter_is_down_is_503_and_changes_nothing(
    provider, own_redis_limiter
) -> None:
    # Given a task PENDING at the provider
    provider.configure(schedule_delay=1e9)
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    assert AnimationTask.objects.get(pk=task_id).status == "submitted"
    # When its owner cancels while Redis is down
    with own_redis_limiter.down():
        response = client_for(user).delete(f"/api/tasks/{task_id}")
    # Then the answer is 503 with Retry-After, not a refusal: nothing was asked of
    # the provider and nothing changed here
    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "service_unavailable"
    assert int(response["Retry-After"]) >= 1
    assert provider.call_count("cancel") == 0
    assert AnimationTask.objects.get(pk=task_id).status == "submitted"
    assert account(user) == (1000, 12)
    # And once Redis is back the same cancel goes through
    drive(lambda: client_for(user).delete(f"/api/tasks/{task_id}").status_code == 200)
    assert account(user) == (1000, 0)
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_a_repeated_key_makes_one_task_while_redis_is_down(
    provider, own_redis_limiter, settings
) -> None:
    # Idempotency lives in the database (unique keys, claims), not in Redis: an
    # outage of Redis cannot let a repeat through to a second charge.
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    user = funded_user(1000)
    with own_redis_limiter.down():
        first = create(user, key="same-job")
        again = create(user, key="same-job")
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["id"] == again.json()["id"]
    assert AnimationTask.objects.filter(user=user).count() == 1
    assert account(user) == (1000, 12)
    assert check_ledger() == []
