"""POST /api/tasks/{id}/retry with an Idempotency-Key: a repeat starts no second run
and reserves nothing more, even when the repeats arrive at once."""

from __future__ import annotations

import pytest

from animations.models import AnimationTask, TaskRetry
from animations.tests.helpers import account, client_for, create, funded_user
from billing.services import check_ledger
from config.tests.concurrency import run_together


def _canceled(settings, user) -> str:
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0  # it stays queued: nothing reaches the provider
    task_id = create(user).json()["id"]
    assert client_for(user).delete(f"/api/tasks/{task_id}").status_code == 200
    return task_id


@pytest.mark.django_db(transaction=True)
def test_a_repeated_retry_key_returns_the_task_and_reserves_once(provider, settings) -> None:
    user = funded_user(1000)
    task_id = _canceled(settings, user)
    api = client_for(user)
    key = {"HTTP_IDEMPOTENCY_KEY": "retry-1"}

    first = api.post(f"/api/tasks/{task_id}/retry", **key)
    repeat = api.post(f"/api/tasks/{task_id}/retry", **key)
    other_key = api.post(f"/api/tasks/{task_id}/retry", HTTP_IDEMPOTENCY_KEY="retry-2")

    assert (first.status_code, repeat.status_code) == (202, 202)
    assert repeat.json() == first.json()
    assert first.json()["attempts"] == 2
    assert account(user) == (1000, 12)
    # a new key is a new retry, refused while the task is queued
    assert other_key.status_code == 409
    assert other_key.json()["errors"][0]["code"] == "task_not_retryable"
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_an_old_key_after_a_later_retry_changes_nothing(provider, settings) -> None:
    user = funded_user(1000)
    task_id = _canceled(settings, user)
    api = client_for(user)
    api.post(f"/api/tasks/{task_id}/retry", HTTP_IDEMPOTENCY_KEY="a")
    api.delete(f"/api/tasks/{task_id}")
    api.post(f"/api/tasks/{task_id}/retry", HTTP_IDEMPOTENCY_KEY="b")
    api.delete(f"/api/tasks/{task_id}")

    response = api.post(f"/api/tasks/{task_id}/retry", HTTP_IDEMPOTENCY_KEY="a")

    assert response.status_code == 202
    assert (response.json()["status"], response.json()["attempts"]) == ("canceled", 3)
    assert list(
        TaskRetry.objects.order_by("attempt").values_list("idempotency_key", "attempt")
    ) == [
        ("a", 2),
        ("b", 3),
    ]
    assert account(user) == (1000, 0)


@pytest.mark.django_db(transaction=True)
def test_retries_without_a_key_are_each_a_new_retry(provider, settings) -> None:
    user = funded_user(1000)
    task_id = _canceled(settings, user)
    api = client_for(user)

    first = api.post(f"/api/tasks/{task_id}/retry")
    second = api.post(f"/api/tasks/{task_id}/retry")

    assert (first.status_code, second.status_code) == (202, 409)
    assert not TaskRetry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_key_sent_twice_at_once_starts_one_run(provider, settings) -> None:
    user = funded_user(1000)
    task_id = _canceled(settings, user)
    clients = [client_for(user), client_for(user)]

    responses = run_together(
        2,
        lambda n: clients[n].post(f"/api/tasks/{task_id}/retry", HTTP_IDEMPOTENCY_KEY="once"),
    )

    assert [r.status_code for r in responses] == [202, 202]
    row = AnimationTask.objects.get(pk=task_id)
    assert (row.status, row.attempts, row.credits_reserved) == ("queued", 2, 24)
    assert TaskRetry.objects.count() == 1
    assert account(user) == (1000, 12)
    assert check_ledger() == []
