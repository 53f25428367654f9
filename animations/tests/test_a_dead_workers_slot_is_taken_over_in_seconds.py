"""Leases are short and renewed while a worker is busy: a live worker keeps its
task (and the key's one create slot) through a slow provider call, and a worker
killed in the middle of one (SIGKILL, a real Celery worker process) blocks the
key for about one lease, after which another dispatcher reconciles the call and
adopts the job the provider made."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from animations import services
from animations.models import AnimationTask
from animations.tests.conftest import TEST_TIME_SCALE
from animations.tests.helpers import account, create, drive, final, funded_user
from billing.services import check_ledger
from config.tests.worker_process import worker_process  # noqa: F401

LEASE = 3


@pytest.mark.django_db(transaction=True)
def test_a_live_worker_keeps_its_slot_through_a_create_call_longer_than_its_lease(
    provider, settings
) -> None:
    # Given a queued task, a 3 s lease, and a provider that answers the create
    # call after 7 s (more than two leases)
    settings.ANIMATIONS_LEASE_SECONDS = LEASE
    settings.DASHSCOPE_READ_TIMEOUT = 30.0
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    settings.DASHSCOPE_MAX_IN_FLIGHT = 1
    provider.script({"submit": "slow", "delay": 7.0})
    claimed = services.claim_next_queued("global")
    assert claimed is not None
    sent: list[bool] = []

    def worker() -> None:
        try:
            sent.append(services.submit_claimed(*claimed))
        finally:
            connection.close()

    # When one worker makes the call while another dispatcher beats meanwhile
    thread = threading.Thread(target=worker)
    thread.start()
    seen = []
    while thread.is_alive():
        taken_over = services.reconcile_submits()
        row = AnimationTask.objects.get(pk=task_id)
        seen.append((taken_over, row.status, row.lease_owner, row.lease_until, timezone.now()))
        time.sleep(0.05)
    thread.join()
    # Then nothing was taken over: the lease was the caller's, renewed, never lapsed
    in_flight = [s for s in seen if s[1] == "submitting"]
    assert in_flight and all(s[0] == 0 for s in seen)
    assert {s[2] for s in in_flight} == {claimed[1]}
    assert all(until > at for _, _, _, until, at in in_flight)
    assert in_flight[-1][3] - in_flight[0][3] > (in_flight[-1][4] - in_flight[0][4]) / 2
    # And the call's own answer was recorded: one job at the provider, ours
    assert sent == [True]
    row = AnimationTask.objects.get(pk=task_id)
    assert row.status == "submitted"
    assert row.lease_owner == ""
    assert list(provider.tasks) == [row.provider_task_id]
    assert provider.call_count("submit") == 1


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_call_blocks_the_key_for_about_one_lease(
    provider,
    worker_process,  # noqa: F811
    settings,
) -> None:
    # Given a real worker process with 3 s leases, on a provider that takes the
    # create call and then never answers it
    settings.ANIMATIONS_LEASE_SECONDS = LEASE
    worker_process.env.update(
        DASHSCOPE_BASE_URL=provider.base_url,
        DASHSCOPE_API_KEY_CN="sk-test-cn",
        DASHSCOPE_API_KEY_GLOBAL="sk-test-global",
        ANIMATIONS_TIME_SCALE=str(TEST_TIME_SCALE),
        DASHSCOPE_MAX_IN_FLIGHT="1",
        DASHSCOPE_READ_TIMEOUT="300",
        ANIMATIONS_LEASE_SECONDS=str(LEASE),
        SITE_URL=settings.SITE_URL,
        STORAGE_ALLOW_LOOPBACK_IMPORTS="true",
    )
    worker_process.start()
    provider.script({"submit": "slow", "delay": 600.0})
    user = funded_user(1000)
    task_id = create(user).json()["id"]  # its kick runs the dispatcher on the worker
    deadline = time.monotonic() + 30
    while not provider.tasks or AnimationTask.objects.get(pk=task_id).status != "submitting":
        assert time.monotonic() < deadline, "the worker never made the create call"
        time.sleep(0.05)
    # and the worker renews its lease while it waits
    first = AnimationTask.objects.get(pk=task_id).lease_until
    while AnimationTask.objects.get(pk=task_id).lease_until == first:
        assert time.monotonic() < deadline, "the lease was never renewed"
        time.sleep(0.05)
    # When the worker is killed in the middle of the call
    worker_process.kill()
    killed = time.monotonic()
    # Then another dispatcher takes the slot over about one lease later (it was
    # 120 s before, and healing took up to 157 s): it reads the provider's list
    # and adopts the job the dead worker's call made, sending nothing again
    drive(lambda: AnimationTask.objects.get(pk=task_id).status != "submitting", timeout=60)
    assert time.monotonic() - killed < LEASE + 3
    row = AnimationTask.objects.get(pk=task_id)
    assert row.status == "submitted"
    assert list(provider.tasks) == [row.provider_task_id]
    # And the job runs to its end, sent once and charged once
    drive(final(task_id))
    assert AnimationTask.objects.get(pk=task_id).status == "succeeded"
    assert provider.call_count("submit") == 1
    assert account(user) == (988, 0)
    assert check_ledger() == []
