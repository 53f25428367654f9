"""Support's tools: the commands and admin actions call the same services."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.tests.factories import UserFactory
from animations.models import AnimationTask
from animations.tests.helpers import account, create, drive, final, funded_user
from billing.services import check_ledger


@pytest.mark.django_db(transaction=True)
def test_provider_slots_shows_usage_and_queue(provider, settings) -> None:
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    create(funded_user(1000))
    out = io.StringIO()
    call_command("provider_slots", stdout=out)
    assert "global: in_flight=0/0 queued=1" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_recover_stuck_lists_then_recovers_a_task_with_a_dead_lease(provider) -> None:
    user = funded_user(1000)
    task_id = create(user).json()["id"]
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
def test_repoll_task_polls_now(provider) -> None:
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    provider_id = AnimationTask.objects.get(pk=task_id).provider_task_id
    deadline = time.monotonic() + 10
    while provider.tasks[provider_id].status != "SUCCEEDED" and time.monotonic() < deadline:
        time.sleep(0.02)
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
    response = client.post(
        "/admin/animations/animationtask/",
        {"action": "refund_tasks", "_selected_action": [task_id]},
    )
    assert response.status_code == 302
    assert account(user) == (1000, 0)
    # A second refund of the same run changes nothing
    client.post(
        "/admin/animations/animationtask/",
        {"action": "refund_tasks", "_selected_action": [task_id]},
    )
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
