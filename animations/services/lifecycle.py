"""A submitted task to its end: poll the provider, finish (mirror and capture),
fail, cancel, retry as a new run, and cancel for account erasure."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from animations import events, metrics
from animations.dashscope import ProviderError, TaskState
from animations.errors import TaskNotCancelable, TaskNotRetryable
from animations.limiter import LimiterUnavailable, RateLimited
from animations.models import (
    AT_PROVIDER,
    FINAL,
    UNFINISHED,
    AnimationTask,
    Status,
    TaskRetry,
)
from animations.services.common import (
    ERROR_BACKOFF,
    Heartbeat,
    client_for,
    error_body,
    keep_raw,
    kick,
    lease,
    locked,
    price,
    provider_delta,
)
from animations.services.estimate import next_poll
from billing import services as billing
from config import outage
from config.errors import DependencyUnavailable, DomainError
from storage import services as storage
from storage.errors import TransientDownloadError

logger = structlog.get_logger(__name__)


MAX_RUNTIME = 3 * 3600.0
# Real seconds a user's cancel may wait for a provider token (never a worker).
CANCEL_WAIT = 2.0
ERASED = ("account_erased", "The account was erased; the task was canceled.")


def poll_due(*, limit: int | None = None) -> int:
    """Claim due tasks (conditional UPDATE with a lease: one worker per task) and
    poll each within the rate limit. A dead worker's task comes back when its
    lease expires."""
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    due = list(
        AnimationTask.objects.filter(status__in=AT_PROVIDER, next_poll_at__lte=now)
        .filter(free)
        .order_by("next_poll_at")
        .values_list("pk", flat=True)[: limit or settings.ANIMATIONS_DISPATCH_BATCH]
    )
    polled = 0
    for pk in due:
        token, until = lease()
        won = (
            AnimationTask.objects.filter(pk=pk, status__in=AT_PROVIDER, next_poll_at__lte=now)
            .filter(free)
            .update(lease_owner=token, lease_until=until)
        )
        if won:
            if not poll_task(AnimationTask.objects.get(pk=pk), token):
                break  # the key's query rate is spent: the rest wait for a later beat
            polled += 1
    return polled


def poll_task(task: AnimationTask, token: str) -> bool:
    """One step for a claimed task at the provider. Past the 3-hour limit the
    provider is still asked first: a job it finished late is settled by its
    answer; one it has not finished (or cannot tell us about) fails. False when
    no query token was free: the task is rescheduled for when one may be, and
    nothing waits. The lease is renewed throughout (the query, the result's copy)."""
    with Heartbeat(task.pk, token):
        return _poll(task, token)


def _poll(task: AnimationTask, token: str) -> bool:
    now = timezone.now()
    if task.provider_status == "SUCCEEDED" and task.provider_result_url:
        finish_success(task, token)
        return True
    expired = bool(task.submitted_at and now - task.submitted_at > provider_delta(MAX_RUNTIME))
    assert task.provider_task_id
    try:
        state = client_for(task.region).query(task.provider_task_id)
    except RateLimited as limited:
        _reschedule(task, token, at=now + timedelta(seconds=limited.retry_after))
        return False
    except ProviderError as error:
        if expired:
            _fail_timed_out(task)
        else:
            _reschedule(task, token, at=now + provider_delta(ERROR_BACKOFF), error=error)
        return True
    if expired and state.status in {"PENDING", "RUNNING"}:
        _fail_timed_out(task)
        return True
    record_poll(task, token, state)
    return True


def _reschedule(
    task: AnimationTask, token: str, *, at: datetime, error: ProviderError | None = None
) -> None:
    """Give the lease back and make the task due again ``at``, if we still hold it."""
    with transaction.atomic():
        row = locked(task)
        if row.lease_owner != token:
            return
        if error is not None:
            keep_raw(row, "query_error", error_body(error))
        row.lease_owner, row.lease_until = "", None
        row.next_poll_at = at
        row.save()


def _fail_timed_out(task: AnimationTask) -> None:
    fail_task(
        task,
        code="InternalError.Timeout",
        message="The provider did not finish the task within 3 hours.",
    )


def record_poll(task: AnimationTask, token: str, state: TaskState) -> None:
    """Apply the provider's answer: the provider's own timestamps, the next poll time."""
    now = timezone.now()
    with transaction.atomic():
        row = locked(task)
        if row.lease_owner != token or row.status not in AT_PROVIDER:
            return
        keep_raw(row, "query", state.raw)
        was = row.status
        row.polls += 1
        row.provider_status = state.status
        row.provider_submit_time = state.submit_time or row.provider_submit_time
        row.started_at = state.scheduled_time or row.started_at
        row.provider_end_time = state.end_time or row.provider_end_time
        if state.status == "RUNNING":
            row.status = Status.RUNNING
        if state.status == "SUCCEEDED":
            if not state.video_url:
                row.provider_status = "FAILED"
            else:
                row.status = Status.RUNNING
                row.provider_result_url = state.video_url
                row.usage_duration = state.video_duration
                row.usage_ratio = state.video_ratio or ""
                # Due now: if this worker dies before the copy, the next run finishes it.
                row.next_poll_at = now
        elif state.status in {"PENDING", "RUNNING"}:
            row.next_poll_at = next_poll(row, now)
            row.lease_owner, row.lease_until = "", None
        row.save()
        if row.status != was:
            events.task_changed(row)
    if state.status == "SUCCEEDED" and state.video_url:
        finish_success(row, token)
    elif state.status == "SUCCEEDED":
        fail_task(
            row, code="InternalError", message="The provider reported success without a result."
        )
    elif state.status == "FAILED":
        fail_task(
            row,
            code=state.code or "InternalError",
            message=state.message or "The provider failed the task.",
        )
    elif state.status == "CANCELED":
        _settle_canceled(row)
    elif state.status == "UNKNOWN":
        fail_task(
            row,
            code="provider_task_unknown",
            message="The provider no longer knows this task (expired or never created).",
        )


def finish_success(task: AnimationTask, token: str) -> None:
    """Mirror the result into the owner's storage (idempotent on the task's run),
    then capture the cost of the actual ``video_duration`` and mark succeeded, in
    one transaction. Either step may be repeated by a later run after a crash."""
    key = f"{task.ref}:result"
    try:
        result = storage.mirror_result(task.user, task.provider_result_url, key=key)
    except (TransientDownloadError, DependencyUnavailable):
        # Our storage or the result host is down for now: the result URL lives 24 h,
        # so try again later rather than fail a job the provider finished.
        AnimationTask.objects.filter(pk=task.pk, lease_owner=token).update(
            lease_owner="",
            lease_until=None,
            next_poll_at=timezone.now() + provider_delta(ERROR_BACKOFF),
        )
        return
    except DomainError as error:
        fail_task(
            task,
            code="result_unavailable",
            message=f"The result could not be copied: {error.detail}",
        )
        return
    with transaction.atomic():
        row = locked(task)
        if row.status not in AT_PROVIDER:
            return
        cost = price(row.model, row.mode, row.usage_duration or row.video_duration)
        charged = min(cost, row.open_credits)
        billing.capture(row.user, charged, ref=row.ref, key=f"{row.ref}:capture")
        now = timezone.now()
        row.credits_charged += charged
        row.credits_released += row.open_credits
        row.status = Status.SUCCEEDED
        row.result = result
        row.finished_at = now
        row.lease_owner, row.lease_until, row.next_poll_at = "", None, None
        row.save()
        events.task_changed(row)
    metrics.TASKS_FINISHED.labels(status="succeeded", type=row.type).inc()
    metrics.CREDITS_CAPTURED.labels(model=row.model, mode=row.mode).inc(charged)
    if row.submitted_at:
        metrics.SUBMIT_TO_RESULT.observe((now - row.submitted_at).total_seconds())
    logger.info("animation_succeeded", task_id=str(row.id), charged=charged)


def fail_task(
    task: AnimationTask, *, code: str, message: str, raw: dict[str, Any] | None = None
) -> bool:
    """Release all of the run's credits, record the error, mark failed. Idempotent."""
    with transaction.atomic():
        row = locked(task)
        if row.status in FINAL:
            return False
        _release(row)
        if raw:
            keep_raw(row, "error", raw)
        row.status = Status.FAILED
        row.error_code = code[:64]
        row.error_message = message
        row.finished_at = timezone.now()
        row.lease_owner, row.lease_until, row.next_poll_at = "", None, None
        row.save()
        events.task_changed(row)
    metrics.TASKS_FINISHED.labels(status="failed", type=row.type).inc()
    metrics.TASK_FAILURES.labels(code=row.error_code).inc()
    logger.warning("animation_failed", task_id=str(row.id), code=code)
    return True


def _release(row: AnimationTask) -> None:
    billing.release(row.user, ref=row.ref, key=f"{row.ref}:release")
    row.credits_released += row.open_credits


def _settle_canceled(
    task: AnimationTask,
    *,
    when: tuple[str, ...] = UNFINISHED,
    error: tuple[str, str] = ("", ""),
) -> AnimationTask | None:
    """Release all of the run's credits and mark canceled, if the task (locked) is
    still in one of the ``when`` states; None otherwise. Idempotent."""
    with transaction.atomic():
        row = locked(task)
        if row.status not in when:
            return None
        _release(row)
        row.status = Status.CANCELED
        row.error_code, row.error_message = error
        row.finished_at = timezone.now()
        row.lease_owner, row.lease_until, row.next_poll_at = "", None, None
        row.save()
        events.task_changed(row)
    metrics.TASKS_FINISHED.labels(status="canceled", type=row.type).inc()
    return row


def cancel_task(task: AnimationTask) -> AnimationTask:
    """Cancel a task that the provider is not running yet: ours still queued, or
    PENDING at the provider (canceled there first). Credits are released. Once the
    provider runs it (or the outcome of its create call is unsettled) it is
    ``task_not_cancelable``."""
    if task.status == Status.QUEUED:
        canceled = _settle_canceled(task, when=(Status.QUEUED,))
        if canceled is not None:
            return canceled
        task.refresh_from_db()
    if task.status == Status.SUBMITTED and task.provider_status == "PENDING":
        try:
            # A person waits on this answer (no worker does): a token may be waited for.
            client_for(task.region).cancel(str(task.provider_task_id), max_wait=CANCEL_WAIT)
        except LimiterUnavailable as error:
            # Not a refusal: we may not call the provider blind; the client tries again.
            raise DependencyUnavailable(
                internal=str(error), retry_after=math.ceil(error.retry_after)
            ) from error
        except (ProviderError, RateLimited) as error:
            raise TaskNotCancelable() from error
        _settle_canceled(task)
        task.refresh_from_db()
        if task.status == Status.CANCELED:
            return task
    raise TaskNotCancelable(status=task.status)


def retry_task(task: AnimationTask, *, idempotency_key: str | None = None) -> AnimationTask:
    """Queue a failed or canceled task again as a new run, reserving its cost afresh.
    A repeat with the same ``idempotency_key`` on this task returns it as it is now
    and changes nothing (the task's row lock orders concurrent repeats)."""
    with transaction.atomic():
        row = locked(task)
        if (
            idempotency_key
            and TaskRetry.objects.filter(task=row, idempotency_key=idempotency_key).exists()
        ):
            return row
        if row.status not in (Status.FAILED, Status.CANCELED):
            raise TaskNotRetryable(status=row.status)
        cost = price(row.model, row.mode, row.video_duration)
        row.start_new_run(reserved=cost)
        billing.reserve(row.user, cost, ref=row.ref, key=f"{row.ref}:reserve")
        row.save()
        events.task_changed(row)
        if idempotency_key:
            TaskRetry.objects.create(
                task=row, idempotency_key=idempotency_key, attempt=row.attempts
            )
        transaction.on_commit(kick)
    return row


def cancel_for_erasure(user: User) -> list[str]:
    """Registered with ``accounts.hooks.on_erasure``: every unfinished task of the
    user is canceled and its credits released, in the erasure transaction; tasks
    the provider holds are canceled there after commit (best effort)."""
    at_provider: list[tuple[str, str]] = []
    canceled: list[str] = []
    for task in AnimationTask.objects.filter(user=user, status__in=UNFINISHED).order_by("pk"):
        row = _settle_canceled(task, error=ERASED)
        if row is None:
            continue
        if row.provider_task_id:
            at_provider.append((row.region, row.provider_task_id))
        canceled.append(str(row.pk))
    if at_provider:
        from animations import tasks

        # Best effort: with the broker down the provider runs the job out; nothing
        # of it is kept or charged here.
        transaction.on_commit(
            lambda: [
                outage.enqueue(tasks.cancel_at_provider, region, tid, use="erasure_cancel")
                for region, tid in at_provider
            ]
        )
    return canceled


def cancel_at_provider(region: str, provider_task_id: str) -> bool:
    """Ask the provider to drop a task we no longer want; only PENDING ones can be.
    Without a free token it raises ``RateLimited`` (the Celery task retries later)."""
    try:
        client_for(region).cancel(provider_task_id)
    except ProviderError:
        return False
    return True
