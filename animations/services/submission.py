"""Provider slots and the create call: claim a queued task fairly, submit it,
requeue or hand a lost answer to reconciliation."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from animations import events
from animations.dashscope import ProviderError, rate_kind
from animations.limiter import LimiterUnavailable, RateLimited
from animations.models import (
    IN_FLIGHT,
    AnimationTask,
    ProviderAccount,
    Status,
)
from animations.services.common import (
    ERROR_BACKOFF,
    Heartbeat,
    client_for,
    error_body,
    keep_raw,
    lease,
    locked,
    provider_delta,
)
from animations.services.estimate import EXPECTED_QUEUE, expected_run, tail_band
from animations.services.lifecycle import fail_task
from config import outage
from storage import services as storage

logger = structlog.get_logger(__name__)


# A lost create answer is reconciled once the provider's list can show it.
RECONCILE_AFTER = 3.0


def regions_sharing_key(region: str) -> list[str]:
    """The regions that talk to the same endpoint with the same key as ``region``
    (itself included): the provider's limits are per key, not per region."""
    key = (settings.DASHSCOPE_BASE_URLS[region], settings.DASHSCOPE_API_KEYS[region])
    return sorted(
        name
        for name in settings.DASHSCOPE_BASE_URLS
        if (settings.DASHSCOPE_BASE_URLS[name], settings.DASHSCOPE_API_KEYS[name]) == key
    )


def claim_next_queued(region: str) -> tuple[AnimationTask, str] | None:
    """Take a provider slot for the next queued task of ``region``, fairly.

    The ``ProviderAccount`` rows of every region using this region's key are
    locked while their in-flight tasks are counted, so workers never exceed
    ``DASHSCOPE_MAX_IN_FLIGHT`` per key; the slot is the task's own status, so a
    dead worker cannot leak one. One create call per key
    at a time: while one is under way or its outcome unsettled, nothing else is
    sent, so a job that turns up in the provider's list for that window can only
    be that task's (``reconcile_submits``), never another user's. Fairness: the
    user who was served least recently goes first (round robin), oldest task first.
    The key's create-rate token is taken here, before anything is marked, without
    waiting: with none free nothing is claimed and a later beat sends the task."""
    shared = regions_sharing_key(region)
    for name in shared:
        ProviderAccount.objects.get_or_create(region=name)
    with transaction.atomic():
        list(ProviderAccount.objects.select_for_update().filter(region__in=shared).order_by("pk"))
        in_flight = dict(
            AnimationTask.objects.filter(region__in=shared, status__in=IN_FLIGHT)
            .values_list("status")
            .annotate(n=Count("pk"))
        )
        if (
            sum(in_flight.values()) >= settings.DASHSCOPE_MAX_IN_FLIGHT
            or Status.SUBMITTING in in_flight
        ):
            return None
        now = timezone.now()
        ready = Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now)
        waiting = list(
            AnimationTask.objects.filter(region=region, status=Status.QUEUED)
            .filter(ready)
            .values("user_id")
            .annotate(oldest=Min("created_at"))
        )
        if not waiting:
            return None
        users = [row["user_id"] for row in waiting]
        served = dict(
            AnimationTask.objects.filter(user_id__in=users, submit_sent_at__isnull=False)
            .values("user_id")
            .annotate(last=Max("submit_sent_at"))
            .values_list("user_id", "last")
        )
        epoch = datetime.min.replace(tzinfo=timezone.get_current_timezone())
        waiting.sort(key=lambda row: (served.get(row["user_id"]) or epoch, row["oldest"]))
        task = (
            AnimationTask.objects.filter(user_id=waiting[0]["user_id"], status=Status.QUEUED)
            .filter(region=region)
            .filter(ready)
            .order_by("created_at")
            .first()
        )
        if task is None:
            return None
        client = client_for(region)
        try:
            if client.limiter.try_acquire(client.key_id, rate_kind("submit")) > 0:
                return None
        except LimiterUnavailable:
            return None  # no reading the key's window, no create call (logged by the breaker)
        token, until = lease()
        claimed = AnimationTask.objects.filter(pk=task.pk, status=Status.QUEUED).update(
            status=Status.SUBMITTING,
            lease_owner=token,
            lease_until=until,
            submit_tries=task.submit_tries + 1,
            submit_sent_at=now,
            submit_unknown=False,
            next_poll_at=None,
            updated_at=now,
        )
        if not claimed:
            return None  # canceled meanwhile (a cancel takes no slot lock): send nothing
    task.refresh_from_db()
    return task, token


def submit_claimed(task: AnimationTask, token: str) -> bool:
    """Send the create request for a claimed task and record what came back.
    True when the provider took it."""
    client = client_for(task.region)
    assert task.image is not None and task.video is not None
    try:
        # The lease is renewed while the call is in the air, so a short lease is
        # safe for a slow answer and a dead worker's slot is free soon after.
        with Heartbeat(task.pk, token):
            submission = client.submit(
                model=task.model,
                image_url=storage.provider_url(task.image),
                video_url=storage.provider_url(task.video),
                mode=task.mode,
                watermark=task.watermark,
                token_taken=True,  # by claim_next_queued
            )
    except ProviderError as error:
        if error.unknown_outcome:
            _mark_unknown(task, token, error)
        elif error.not_sent:
            _wait_for_provider(task, token, error)
        elif error.retryable and task.submit_tries < settings.ANIMATIONS_SUBMIT_MAX_TRIES:
            _requeue(task, token, reason=error)
        else:
            fail_task(task, code=error.code, message=error.message, raw=error_body(error))
        return False
    recorded = _record_submitted(
        task, token, submission.task_id, raw=submission.raw, key_id=client.key_id
    )
    if not recorded:
        _drop_orphan(task, submission.task_id)
    return recorded


def _drop_orphan(task: AnimationTask, provider_task_id: str) -> None:
    """The provider took a create call whose task is no longer ours to record (its
    lease was taken over while this worker hung, or it was canceled meanwhile). If
    no task adopted the job, it is nobody's: ask the provider to drop it (it can
    while the job is PENDING), so no stray job runs on the key."""
    if AnimationTask.objects.filter(provider_task_id=provider_task_id).exists():
        return
    from animations import tasks

    logger.warning(
        "animation_submit_orphaned", task_id=str(task.pk), provider_task_id=provider_task_id
    )
    outage.enqueue(tasks.cancel_at_provider, task.region, provider_task_id, use="orphan_cancel")


def _requeue(task: AnimationTask, token: str, *, reason: ProviderError | None) -> None:
    with transaction.atomic():
        row = locked(task)
        if row.status != Status.SUBMITTING or row.lease_owner != token:
            return
        row.status = Status.QUEUED
        row.lease_owner, row.lease_until = "", None
        row.submit_unreachable_since = None  # the provider answered (or may have)
        if reason is not None:
            keep_raw(row, "submit_error", error_body(reason))
            # Exponential backoff (2, 4, ... 60 provider seconds): a throttled or
            # failing provider is not hammered at the full rate limit.
            row.next_poll_at = timezone.now() + provider_delta(min(60.0, 2.0**row.submit_tries))
        row.save()


def _wait_for_provider(task: AnimationTask, token: str, error: ProviderError) -> None:
    """The create call could not reach the provider at all: nothing was sent, so
    the try is not spent. The task waits, queued (clients see it so), tried again
    after a backoff that grows with the outage (2 ... 60 provider seconds); once
    the outage has lasted ``ANIMATIONS_SUBMIT_UNREACHABLE_SECONDS`` for it, it
    fails and its credits are released."""
    now = timezone.now()
    with transaction.atomic():
        row = locked(task)
        if row.status != Status.SUBMITTING or row.lease_owner != token:
            return
        began = row.submit_unreachable_since is None
        since = row.submit_unreachable_since or now
        waited = (now - since).total_seconds() * settings.ANIMATIONS_TIME_SCALE
        if waited < settings.ANIMATIONS_SUBMIT_UNREACHABLE_SECONDS:
            row.status = Status.QUEUED
            row.lease_owner, row.lease_until = "", None
            row.submit_tries = max(0, row.submit_tries - 1)
            row.submit_unreachable_since = since
            row.next_poll_at = now + provider_delta(min(60.0, max(2.0, waited)))
            keep_raw(row, "submit_error", error_body(error))
            row.save()
            if began:
                logger.warning("animation_submit_unreachable", task_id=str(row.pk))
            return
    budget = settings.ANIMATIONS_SUBMIT_UNREACHABLE_SECONDS
    span = f"{round(budget / 60)} minutes" if budget >= 120 else f"{round(budget)} seconds"
    fail_task(
        task,
        code="provider_unreachable",
        message=f"The provider could not be reached for {span}; the task was never sent "
        "and its credits were released.",
        raw=error_body(error),
    )


def _mark_unknown(task: AnimationTask, token: str, error: ProviderError) -> None:
    """The create request may have reached the provider: keep the slot and hand
    the task to reconciliation (``reconcile_submits``) instead of resending."""
    with transaction.atomic():
        row = locked(task)
        if row.status != Status.SUBMITTING or row.lease_owner != token:
            return
        row.submit_unknown = True
        row.lease_owner = ""
        row.lease_until = timezone.now() + provider_delta(RECONCILE_AFTER)
        keep_raw(row, "submit_unknown", error_body(error))
        row.save()


def _record_submitted(
    task: AnimationTask, token: str | None, provider_task_id: str, *, raw: dict, key_id: str
) -> bool:
    with transaction.atomic():
        row = locked(task)
        if row.status != Status.SUBMITTING or (token is not None and row.lease_owner != token):
            return False
        now = timezone.now()
        row.status = Status.SUBMITTED
        row.provider_task_id = provider_task_id
        row.provider_status = "PENDING"
        row.provider_key_id = key_id
        row.submitted_at = now
        row.submit_unknown = False
        row.submit_unreachable_since = None
        row.lease_owner, row.lease_until = "", None
        row.next_poll_at = now + provider_delta(
            EXPECTED_QUEUE
            + expected_run(row.mode, row.video_duration)
            - tail_band(row.mode, row.video_duration)
        )
        keep_raw(row, "submit", raw)
        row.save()
        events.task_changed(row)
    logger.info("animation_submitted", task_id=str(task.id), provider_task_id=provider_task_id)
    return True


def fill_slots(*, max_submits: int = 10) -> int:
    """Submit queued tasks while their region has free provider slots and its key
    a free create-rate token; what is left waits for the next beat (no waiting here)."""
    sent = 0
    for region in settings.DASHSCOPE_BASE_URLS:
        for _ in range(max_submits):
            claimed = claim_next_queued(region)
            if claimed is None:
                break
            if not submit_claimed(*claimed):
                break  # the provider is refusing for now; the next beat tries again
            sent += 1
    return sent


def reconcile_submits(*, limit: int = 20) -> int:
    """Settle create calls whose answer was lost (or whose worker died mid-call).

    Before anything is sent again the provider's task list for the window of the
    lost call is read: a task there that no row of ours owns is adopted; only if
    there is none is the task queued again. The key is ours alone and only one
    create call per key is ever unsettled (``claim_next_queued``), so the window
    identifies the job."""
    now = timezone.now()
    stale = list(
        AnimationTask.objects.filter(status=Status.SUBMITTING, lease_until__lt=now).values_list(
            "pk", flat=True
        )[:limit]
    )
    done = 0
    for pk in stale:
        token, until = lease()
        won = AnimationTask.objects.filter(
            pk=pk, status=Status.SUBMITTING, lease_until__lt=now
        ).update(lease_owner=token, lease_until=until)
        if not won:
            continue
        task = AnimationTask.objects.get(pk=pk)
        client = client_for(task.region)
        sent = task.submit_sent_at or task.updated_at
        try:
            with Heartbeat(pk, token):
                rows = client.list_tasks(
                    start=sent - timedelta(seconds=2),
                    end=timezone.now() + timedelta(seconds=2),
                    model=task.model,
                )
        except (ProviderError, RateLimited):
            AnimationTask.objects.filter(pk=pk, lease_owner=token).update(
                lease_owner="", lease_until=timezone.now() + provider_delta(ERROR_BACKOFF)
            )
            continue
        ids = [str(row.get("task_id")) for row in rows if row.get("task_id")]
        owned = set(
            AnimationTask.objects.filter(provider_task_id__in=ids).values_list(
                "provider_task_id", flat=True
            )
        )
        orphans = sorted(
            (row for row in rows if row.get("task_id") and row["task_id"] not in owned),
            key=lambda row: row.get("gmt_create") or 0,
        )
        if orphans:
            adopted = _record_submitted(
                task,
                token,
                str(orphans[0]["task_id"]),
                raw={"reconciled_from_list": orphans[0]},
                key_id=client.key_id,
            )
            logger.warning("animation_submit_reconciled", task_id=str(pk), adopted=adopted)
        else:
            _requeue(task, token, reason=None)
            logger.warning("animation_submit_not_found_requeued", task_id=str(pk))
        done += 1
    return done
