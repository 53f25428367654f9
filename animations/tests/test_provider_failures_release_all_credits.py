"""Provider FAILED, UNKNOWN, terminal submit errors, 429 storms, 5xx and timeouts:
each ends honestly, with credits released or charged exactly once. Every job that
runs from its start runs through a real Celery worker consuming Redis, as in a
deployment. The two scenarios that build a half-done state by hand (a claimed
slot, an unsettled create call) drive the dispatcher inline and have no worker:
the dispatcher a create kicks would run in the worker whenever it got the
message, and under load that was after the test had raised the slot limit, so
the worker claimed the task the test was setting up (the flake of both)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from animations import services
from animations.models import AnimationTask
from animations.tests.helpers import account, client_for, create, drive, final, funded_user
from billing.services import check_ledger
from storage.models import File

through_worker = pytest.mark.usefixtures("celery_worker")


def _run(provider, *, via_worker: bool = True) -> tuple[object, dict]:
    user = funded_user(1000)
    response = create(user)
    assert response.status_code == 202, response.content
    task_id = response.json()["id"]
    drive(final(task_id), via_worker=via_worker)
    return user, client_for(user).get(f"/api/tasks/{task_id}").json()


@through_worker
@pytest.mark.django_db(transaction=True)
def test_provider_failed_task_fails_with_its_error_and_costs_nothing(provider) -> None:
    # Given the provider will fail the next job on content safety
    provider.script(
        {
            "outcome": "FAILED",
            "code": "DataInspectionFailed",
            "message": "Input data may contain inappropriate content.",
        }
    )
    failures = REGISTRY.get_sample_value(
        "animations_task_failures_total", {"code": "DataInspectionFailed"}
    )
    # When a job runs
    user, task = _run(provider)
    # Then it failed with the provider's readable error, all credits back, no result
    assert task["status"] == "failed"
    assert task["error"] == {
        "code": "DataInspectionFailed",
        "message": "Input data may contain inappropriate content.",
    }
    assert task["credits"] == {"reserved": 12, "charged": 0, "refunded": 12}
    assert task["result"] is None
    assert account(user) == (1000, 0)
    assert not File.objects.filter(owner=user, kind="result").exists()
    assert check_ledger() == []
    # And it is counted once under its error code
    assert (
        REGISTRY.get_sample_value(
            "animations_task_failures_total", {"code": "DataInspectionFailed"}
        )
        == (failures or 0) + 1
    )


@through_worker
@pytest.mark.django_db(transaction=True)
def test_task_the_provider_forgot_fails_as_unknown(provider) -> None:
    provider.script({"outcome": "UNKNOWN"})
    user, task = _run(provider)
    assert task["status"] == "failed"
    assert task["error"]["code"] == "provider_task_unknown"
    assert task["credits"]["refunded"] == 12
    assert account(user) == (1000, 0)
    assert check_ledger() == []


@through_worker
@pytest.mark.django_db(transaction=True)
def test_terminal_submit_error_fails_without_resending(provider) -> None:
    provider.script(
        {
            "submit": "error",
            "status": 400,
            "code": "InvalidParameter.DataInspection",
            "message": "Unable to download the media resource during the data inspection process.",
        }
    )
    user, task = _run(provider)
    assert task["status"] == "failed"
    assert task["error"]["code"] == "InvalidParameter.DataInspection"
    assert provider.call_count("submit") == 1
    assert provider.tasks == {}
    assert account(user) == (1000, 0)
    assert check_ledger() == []


@through_worker
@pytest.mark.django_db(transaction=True)
def test_429_storm_and_5xx_are_retried_until_success_and_charged_once(provider) -> None:
    # Given the provider throttles and errors before accepting, and errors on queries
    provider.script(
        *[{"submit": "error", "status": 429, "code": "Throttling.RateQuota"}] * 4,
        *[{"submit": "error", "status": 500, "code": "InternalError"}] * 2,
    )
    provider.script_queries(
        {"status": 500, "code": "InternalError"}, {"status": 429, "code": "Throttling.RateQuota"}
    )
    # When the job runs
    user, task = _run(provider)
    # Then it succeeded: one job at the provider, charged once
    assert task["status"] == "succeeded"
    assert provider.call_count("submit", 429) == 4
    assert provider.call_count("submit", 500) == 2
    assert provider.call_count("submit", 200) == 1
    assert len(provider.tasks) == 1
    assert task["credits"] == {"reserved": 12, "charged": 12, "refunded": 0}
    assert account(user) == (988, 0)
    assert check_ledger() == []


@through_worker
@pytest.mark.django_db(transaction=True)
def test_query_timeout_is_retried(provider, settings) -> None:
    settings.DASHSCOPE_READ_TIMEOUT = 0.3
    provider.script_queries({"delay": 0.6})
    user, task = _run(provider)
    assert task["status"] == "succeeded"
    assert account(user) == (988, 0)
    assert check_ledger() == []


@through_worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("directive", [{"submit": "slow", "delay": 0.8}, {"submit": "drop"}])
def test_lost_submit_answer_is_reconciled_from_the_task_list_not_resent(
    provider, settings, directive
) -> None:
    # Given the provider creates the job but its answer never arrives
    settings.DASHSCOPE_READ_TIMEOUT = 0.3
    provider.script(directive)
    # When the job runs
    user, task = _run(provider)
    # Then the job the provider created was adopted: exactly one job there, succeeded
    assert task["status"] == "succeeded"
    assert provider.call_count("submit") == 1
    assert len(provider.tasks) == 1
    row = AnimationTask.objects.get(pk=task["id"])
    assert row.provider_task_id == next(iter(provider.tasks))
    assert any(r["kind"] == "submit_unknown" for r in row.provider_responses)
    assert account(user) == (988, 0)
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_worker_dead_before_sending_is_requeued_after_the_list_shows_nothing(
    provider, settings
) -> None:
    # Given a queued task whose slot a worker claimed before dying, request unsent
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    settings.DASHSCOPE_MAX_IN_FLIGHT = 1
    assert services.claim_next_queued("global") is not None
    AnimationTask.objects.filter(pk=task_id).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert provider.tasks == {}
    # When the dispatcher runs
    drive(final(task_id))
    # Then the list was read before sending again, and the task was sent once
    assert AnimationTask.objects.get(pk=task_id).status == "succeeded"
    assert provider.call_count("submit") == 1
    assert len(provider.tasks) == 1
    assert account(user) == (988, 0)
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_nothing_else_is_sent_while_a_create_call_is_unsettled(provider, settings) -> None:
    # Given two users' queued tasks and room for both at the provider, and the
    # first task's create call lost its answer (outcome unknown, reconcile later)
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    first_user, second_user = funded_user(1000), funded_user(1000)
    first = create(first_user).json()["id"]
    second = create(second_user).json()["id"]
    settings.DASHSCOPE_MAX_IN_FLIGHT = 2
    AnimationTask.objects.filter(pk=first).update(
        status="submitting",
        submit_unknown=True,
        submit_sent_at=timezone.now(),
        lease_until=timezone.now() + timedelta(seconds=0.5),
    )
    # When slots are filled before it is settled
    assert services.fill_slots() == 0
    # Then the second task was not sent: a job in the provider's list for the first
    # one's window can only be the first one's
    assert AnimationTask.objects.get(pk=second).status == "queued"
    assert provider.call_count("submit") == 0
    # And once the first is settled (nothing in the list: queued again), both run,
    # each provider job made from its own task's inputs
    drive(lambda: final(first)() and final(second)())
    for task in AnimationTask.objects.filter(pk__in=[first, second]):
        assert task.status == "succeeded"
        assert str(task.video_id) in provider.tasks[task.provider_task_id].video_url
    assert provider.call_count("submit", 200) == 2
