"""Support's tools: the commands and admin actions call the same services."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.http import HttpResponse
from django.utils import timezone
from prometheus_client import REGISTRY

from accounts.tests.factories import UserFactory
from animations import services
from animations.models import AnimationTask
from animations.tests.helpers import (
    account,
    client_for,
    create,
    drive,
    final,
    funded_user,
    provider_finished,
)
from billing.services import check_ledger
from config.tests.admin import run_action

TASKS = "/admin/animations/animationtask/"


@pytest.mark.django_db(transaction=True)
def test_provider_slots_shows_usage_and_queue(provider, settings) -> None:
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    create(funded_user(1000))
    out = io.StringIO()
    call_command("provider_slots", stdout=out)
    assert "global: in_flight=0/0 queued=1" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_recover_stuck_lists_then_recovers_a_task_with_a_dead_lease(provider, settings) -> None:
    # Given a task the provider accepted (sent by hand: the dispatcher the create
    # runs would also poll it once its first poll is due, a few milliseconds at
    # this time scale, so on a loaded machine it was running or even finished
    # before the test made its lease dead, the flake)
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    settings.DASHSCOPE_MAX_IN_FLIGHT = 1
    claimed = services.claim_next_queued("global")
    assert claimed is not None and services.submit_claimed(*claimed)
    # whose poll a worker claimed an hour ago and died holding
    long_ago = timezone.now() - timedelta(hours=1)
    AnimationTask.objects.filter(pk=task_id).update(
        lease_owner="dead", lease_until=long_ago, next_poll_at=timezone.now() + timedelta(days=1)
    )
    AnimationTask.objects.filter(pk=task_id).update(updated_at=long_ago)
    out = io.StringIO()
    call_command("recover_stuck_tasks", "--minutes", "30", stdout=out)
    assert f"{task_id} submitted" in out.getvalue()
    assert "1 stuck task(s) found" in out.getvalue()
    call_command("recover_stuck_tasks", "--minutes", "30", "--recover", stdout=io.StringIO())
    drive(final(task_id))
    assert AnimationTask.objects.get(pk=task_id).status == "succeeded"
    assert account(user) == (988, 0)
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_recover_stuck_by_default_lists_every_task_past_its_lease(provider, settings) -> None:
    # Given two tasks at the provider, touched a moment ago: one whose worker
    # stopped renewing its lease 5 s ago, one whose worker still holds it
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    users = [funded_user(1000), funded_user(1000)]
    dead, alive = (create(user).json()["id"] for user in users)
    settings.DASHSCOPE_MAX_IN_FLIGHT = 2
    for _ in range(2):
        claimed = services.claim_next_queued("global")
        assert claimed is not None and services.submit_claimed(*claimed)
    now = timezone.now()
    AnimationTask.objects.filter(pk=dead).update(
        lease_owner="dead", lease_until=now - timedelta(seconds=5)
    )
    AnimationTask.objects.filter(pk=alive).update(
        lease_owner="alive", lease_until=now + timedelta(seconds=30)
    )
    # When the command runs with its defaults
    out = io.StringIO()
    call_command("recover_stuck_tasks", stdout=out)
    # Then the dead lease is listed (30 minutes had to pass before), the live one not
    assert f"{dead} submitted" in out.getvalue()
    assert str(alive) not in out.getvalue()
    assert "1 stuck task(s) found" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_repoll_task_polls_now(provider) -> None:
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    provider_id = provider_finished(provider, task_id)
    out = io.StringIO()
    call_command("repoll_task", provider_id, stdout=out)
    assert "status=succeeded" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_admin_lists_searches_and_refunds(provider, client) -> None:
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    drive(final(task_id))
    assert client.get("/admin/animations/animationtask/?status=succeeded").status_code == 200
    found = client.get(f"/admin/animations/animationtask/?q={user.email}")
    assert task_id in found.content.decode()
    assert client.get(f"/admin/animations/animationtask/{task_id}/change/").status_code == 200
    response = run_action(client, TASKS, "refund_tasks", [task_id])
    assert response.status_code == 302
    assert account(user) == (1000, 0)
    # A second refund of the same run changes nothing
    run_action(client, TASKS, "refund_tasks", [task_id])
    assert account(user) == (1000, 0)
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_metrics_count_provider_calls_and_captured_credits(provider, client) -> None:
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    drive(final(task_id))
    text = client.get("/metrics").content.decode()
    assert 'animations_provider_calls_total{kind="submit",outcome="200"}' in text
    assert 'animations_credits_captured_total{mode="wan-std",model="wan2.2-animate-move"}' in text
    assert "animations_submit_to_result_seconds_bucket" in text


def _messages(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db(transaction=True)
def test_admin_cancel_and_retry_actions_follow_the_rules_of_the_api(provider, client) -> None:
    # Given a task the provider is running and one queued behind it (one slot)
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    provider.configure(run_base={"wan-std": 1e9, "wan-pro": 1e9})
    user = funded_user(1000)
    running = create(user).json()["id"]
    AnimationTask.objects.filter(pk=running).update(next_poll_at=timezone.now())
    drive(lambda: AnimationTask.objects.get(pk=running).status == "running")
    queued = create(user).json()["id"]
    assert AnimationTask.objects.get(pk=queued).status == "queued"
    assert account(user) == (1000, 24)
    # When support cancels both
    response = run_action(client, TASKS, "cancel_tasks", [queued, running], follow=True)
    # Then the queued one is canceled and released; the running one is refused, untouched
    assert response.status_code == 200
    assert f"{running}: task_not_cancelable" in " ".join(_messages(response))
    assert "Canceled: 1." in _messages(response)
    assert AnimationTask.objects.get(pk=queued).status == "canceled"
    assert AnimationTask.objects.get(pk=running).status == "running"
    assert account(user) == (1000, 12)
    assert provider.call_count("submit") == 1
    # When support retries both
    response = run_action(client, TASKS, "retry_tasks", [queued, running], follow=True)
    # Then the canceled one is queued again with its credits reserved again; the
    # running one is refused and keeps its single reservation
    assert "Retried: 1." in _messages(response)
    assert f"{running}: task_not_retryable" in " ".join(_messages(response))
    again = AnimationTask.objects.get(pk=queued)
    assert (again.status, again.attempts, again.credits_reserved) == ("queued", 2, 24)
    assert AnimationTask.objects.get(pk=running).attempts == 1
    assert account(user) == (1000, 24)
    # And a refund of tasks that were charged nothing is refused, changing nothing
    response = run_action(client, TASKS, "refund_tasks", [queued, running], follow=True)
    assert "Refunded credits: 0." in _messages(response)
    assert f"{queued}: task_not_refundable" in " ".join(_messages(response))
    assert account(user) == (1000, 24)
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_status_gauge_drops_to_zero_when_a_status_empties(provider, settings) -> None:
    # Given one queued move task, counted by the gauges the scrape reads
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    labels = {"status": "queued", "type": "move"}
    assert REGISTRY.get_sample_value("animations_tasks", labels) == 1.0
    assert REGISTRY.get_sample_value("animations_queue_depth", {"region": user.region}) == 1.0
    assert REGISTRY.get_sample_value("animations_in_flight", {"region": user.region}) == 0.0
    # When it is canceled
    client_for(user).delete(f"/api/tasks/{task_id}")
    # Then the next scrape says none are queued, not the stale 1
    assert REGISTRY.get_sample_value("animations_tasks", labels) == 0.0
    assert REGISTRY.get_sample_value("animations_queue_depth", {"region": user.region}) == 0.0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("ident", ["not-a-task", "00000000-0000-0000-0000-000000000000"])
def test_repoll_task_of_no_task_is_a_clear_error(ident) -> None:
    with pytest.raises(CommandError, match=f"No task {ident}"):
        call_command("repoll_task", ident, stdout=io.StringIO())
