"""A provider that cannot be reached at all (its port refuses connections: nothing
was sent) spends no try: tasks wait, queued and visible, for as long as the
operator's budget allows, run once it is back, and fail with their credits
released only when the outage outlasts the budget."""

from __future__ import annotations

import time

import pytest

from animations import services
from animations.models import AnimationTask
from animations.simulator import Simulator
from animations.tests.conftest import TEST_TIME_SCALE
from animations.tests.helpers import account, client_for, create, drive, final, funded_user
from billing.services import check_ledger


def _beat_for(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        services.dispatch()
        time.sleep(0.02)


@pytest.mark.django_db(transaction=True)
def test_an_outage_longer_than_every_try_fails_nothing_and_the_queue_runs_after(
    provider, settings
) -> None:
    # Given two users' tasks queued, at most 2 tries per task, and a provider whose
    # port refuses connections for 2000 provider seconds (2 s here), long enough
    # for dozens of create calls each
    settings.ANIMATIONS_SUBMIT_MAX_TRIES = 2
    settings.ANIMATIONS_SUBMIT_UNREACHABLE_SECONDS = 3600.0
    port = provider.port
    provider.stop()
    users = [funded_user(1000), funded_user(1000)]
    ids = [create(user).json()["id"] for user in users]
    # When the dispatcher beats through the outage
    _beat_for(2000 / TEST_TIME_SCALE)
    # Then nothing failed: both are queued (as clients see them), no try spent
    for user, task_id in zip(users, ids, strict=True):
        task = client_for(user).get(f"/api/tasks/{task_id}").json()
        assert task["status"] == "queued"
        assert task["error"] is None
        row = AnimationTask.objects.get(pk=task_id)
        assert row.submit_tries == 0
        assert row.submit_unreachable_since is not None
        assert account(user) == (1000, 12)
    # And once the provider is back both run, each sent once, charged once
    with Simulator(port=port, time_scale=TEST_TIME_SCALE, schedule_delay=0.0) as back:
        drive(lambda: all(final(task_id)() for task_id in ids))
        assert back.call_count("submit", 200) == 2
    for user, task_id in zip(users, ids, strict=True):
        row = AnimationTask.objects.get(pk=task_id)
        assert row.status == "succeeded"
        assert row.submit_tries == 1
        assert row.submit_unreachable_since is None
        assert account(user) == (988, 0)
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_a_task_gives_up_once_the_outage_outlasts_the_budget(provider, settings) -> None:
    # Given a budget of 300 provider seconds and a provider that stays unreachable
    settings.ANIMATIONS_SUBMIT_UNREACHABLE_SECONDS = 300.0
    provider.stop()
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    # When the dispatcher beats past the budget
    drive(final(task_id))
    # Then the task failed in our words, never sent, its credits all back
    task = client_for(user).get(f"/api/tasks/{task_id}").json()
    assert task["status"] == "failed"
    assert task["error"] == {
        "code": "provider_unreachable",
        "message": "The provider could not be reached for 5 minutes; the task was never "
        "sent and its credits were released.",
    }
    assert task["credits"] == {"reserved": 12, "charged": 0, "refunded": 12}
    assert account(user) == (1000, 0)
    assert check_ledger() == []
