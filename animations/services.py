"""The rules of an animation job, from request to stored result.

The task row is the source of truth. Every step is a conditional update that
only its winner acts on, and every money step names its idempotency key after
the task and run, so a step repeated after a crash changes nothing:

    queued --claim slot--> submitting --create accepted--> submitted --RUNNING--> running
      ^                        |  (answer lost: reconcile with the provider's task list)
      +------ retry / resend --+
    submitted|running --SUCCEEDED--> mirror result, capture actual cost --> succeeded
    any unfinished --FAILED|UNKNOWN|terminal error|3 h--> release all --> failed
    queued | provider PENDING --cancel--> release all --> canceled

Slow I/O (provider calls, downloads, imports) happens outside transactions:
state is claimed before (a lease) and recorded after.
"""

from __future__ import annotations

import math
import statistics
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from animations import metrics
from animations.dashscope import DashScopeClient, ProviderError, TaskState
from animations.errors import (
    InputNotFound,
    InvalidInput,
    TaskNotCancelable,
    TaskNotFound,
    TaskNotRefundable,
    TaskNotRetryable,
)
from animations.limiter import RateLimited
from animations.models import (
    AT_PROVIDER,
    FINAL,
    IN_FLIGHT,
    MODELS,
    UNFINISHED,
    AnimationTask,
    ProviderAccount,
    Status,
    TaskType,
)
from billing import services as billing
from config.errors import DependencyUnavailable, DomainError
from storage import services as storage
from storage.fetch import TransientDownloadError
from storage.models import File, FileKind

log = structlog.get_logger(__name__)

# Expected provider run time: base + per second of video, by mode (provider
# seconds). The official example: a 5.2 s wan-std job ran ~2.5 min.
EXPECTED_BASE = {"wan-std": 20.0, "wan-pro": 30.0}
EXPECTED_PER_SECOND = {"wan-std": 25.0, "wan-pro": 40.0}
# Provider seconds between the create call and the provider scheduling it.
EXPECTED_QUEUE = 2.0
# Close to the expected end, poll this often: detection within ~3 s, while a
# job of minutes costs only a handful of queries.
TAIL_POLL = 3.0
PENDING_POLL = 15.0
ERROR_BACKOFF = 10.0
MAX_RUNTIME = 3 * 3600.0
# A lost create answer is reconciled once the provider's list can show it.
RECONCILE_AFTER = 3.0
RAW_KEEP = 20
ERASED = ("account_erased", "The account was erased; the task was canceled.")


def provider_delta(seconds: float) -> timedelta:
    """Provider time to wall time (the simulator may run faster)."""
    return timedelta(seconds=seconds / settings.ANIMATIONS_TIME_SCALE)


def price(model: str, mode: str, seconds: float) -> int:
    """Credits for ``seconds`` of video: a per-model, per-mode rate, rounded up."""
    rate = settings.ANIMATIONS_CREDITS_PER_SECOND[model][mode]
    return max(1, math.ceil(round(seconds * rate, 6)))


_clients: dict[tuple[str, str], DashScopeClient] = {}


def client_for(region: str) -> DashScopeClient:
    """The region's DashScope client (its own key and base URL), one per process so
    its connections are reused."""
    key = (settings.DASHSCOPE_BASE_URLS[region], settings.DASHSCOPE_API_KEYS[region])
    if key not in _clients:
        _clients[key] = DashScopeClient(base_url=key[0], api_key=key[1])
    return _clients[key]


def _raw(task: AnimationTask, kind: str, body: dict[str, Any]) -> None:
    task.provider_responses = [
        *task.provider_responses[-(RAW_KEEP - 1) :],
        {"at": timezone.now().isoformat(), "kind": kind, "body": body},
    ]
    request_id = body.get("request_id")
    if request_id:
        task.provider_request_ids = [*task.provider_request_ids[-(RAW_KEEP - 1) :], request_id]


def _error_body(error: ProviderError) -> dict[str, Any]:
    return error.body or {"code": error.code, "message": error.message, "status": error.status}


# Create
# ------------------------------------------------------------------------------


@dataclass
class Inputs:
    image: File
    video: File


def _own_file(user: User, file_id: Any, *, kind: str, attr: str) -> File:
    try:
        pk = uuid.UUID(str(file_id))
    except ValueError as exc:
        raise InputNotFound(attr=attr) from exc
    file = File.objects.filter(pk=pk, owner=user, deleted_at__isnull=True).first()
    if file is None:
        raise InputNotFound(attr=attr)
    if file.kind != kind:
        raise InvalidInput(f"This file is not a {kind}.", attr=attr)
    return file


def resolve_inputs(
    user: User,
    *,
    image_id: Any = None,
    image_url: str | None = None,
    video_id: Any = None,
    video_url: str | None = None,
) -> Inputs:
    """The caller's own files, or URLs imported into their storage with the upload
    checks. Runs before any transaction: an import is a download."""
    if (image_id is None) == (not image_url):
        raise InvalidInput("Give exactly one of image_id or image_url.", attr="image_id")
    if (video_id is None) == (not video_url):
        raise InvalidInput("Give exactly one of video_id or video_url.", attr="video_id")
    if image_id is not None:
        image = _own_file(user, image_id, kind=FileKind.IMAGE, attr="image_id")
    else:
        image = storage.import_from_url(user, str(image_url), kind=FileKind.IMAGE)
    if video_id is not None:
        video = _own_file(user, video_id, kind=FileKind.VIDEO, attr="video_id")
    else:
        video = storage.import_from_url(user, str(video_url), kind=FileKind.VIDEO)
    if not video.duration:
        raise InvalidInput("The video's duration is unknown.", attr="video_id")
    return Inputs(image=image, video=video)


def task_for_key(user: User, idempotency_key: str | None) -> AnimationTask | None:
    """The task an earlier request with this ``Idempotency-Key`` created, if any:
    keys are per user, so another user's key finds nothing."""
    if not idempotency_key:
        return None
    return AnimationTask.objects.filter(user=user, idempotency_key=idempotency_key).first()


def create_task(
    user: User,
    *,
    type: str,
    mode: str,
    inputs: Inputs,
    watermark: bool = False,
    idempotency_key: str | None = None,
) -> tuple[AnimationTask, bool]:
    """Reserve the estimated cost (reference video seconds x the model's rate) and
    create the queued task in one transaction; submission is enqueued on commit.
    The same ``idempotency_key`` from the same user returns the first task and
    charges nothing more. Returns ``(task, created)``."""
    existing = task_for_key(user, idempotency_key)
    if existing is not None:
        return existing, False
    model = MODELS[type]
    duration = float(inputs.video.duration or 0)
    cost = price(model, mode, duration)
    try:
        with transaction.atomic():
            task = AnimationTask.objects.create(
                user=user,
                type=type,
                model=model,
                mode=mode,
                watermark=watermark,
                region=user.region,
                image=inputs.image,
                video=inputs.video,
                video_duration=duration,
                idempotency_key=idempotency_key or None,
                credits_reserved=cost,
                queued_at=timezone.now(),
            )
            billing.reserve(user, cost, ref=task.ref, key=f"{task.ref}:reserve")
            transaction.on_commit(_kick)
    except IntegrityError:
        # A concurrent request with the same key won the unique constraint.
        existing = task_for_key(user, idempotency_key)
        if existing is None:
            raise
        return existing, False
    log.info("animation_created", task_id=str(task.id), type=type, mode=mode, credits=cost)
    return task, True


def _kick() -> None:
    """Run the dispatcher soon. The task is already committed and the beat runs
    the dispatcher anyway, so a broker hiccup here must not fail the request."""
    from animations import tasks

    try:
        tasks.dispatch.delay()
    except Exception as exc:  # the beat is the fallback
        log.warning("animation_kick_failed", error=str(exc))


def task_for(user: User, task_id: Any) -> AnimationTask:
    """The user's own task; another user's is exactly as missing as a wrong id."""
    try:
        pk = uuid.UUID(str(task_id))
    except ValueError as exc:
        raise TaskNotFound() from exc
    task = (
        AnimationTask.objects.select_related("image", "video", "result")
        .filter(pk=pk, user=user)
        .first()
    )
    if task is None:
        raise TaskNotFound()
    return task


def user_tasks(
    user: User, *, status: str | None = None, type: str | None = None
) -> QuerySet[AnimationTask]:
    """The user's tasks, newest first. Clients know no ``submitting``: asking for
    ``queued`` includes the tasks whose create call is under way."""
    tasks = AnimationTask.objects.filter(user=user).select_related("image", "video", "result")
    if status == Status.QUEUED:
        tasks = tasks.filter(status__in=[Status.QUEUED, Status.SUBMITTING])
    elif status:
        tasks = tasks.filter(status=status)
    if type:
        tasks = tasks.filter(type=type)
    return tasks.order_by("-created_at", "-id")


# Slots and submission
# ------------------------------------------------------------------------------


def _lease() -> tuple[str, datetime]:
    return uuid.uuid4().hex, timezone.now() + timedelta(seconds=settings.ANIMATIONS_LEASE_SECONDS)


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
    user who was served least recently goes first (round robin), oldest task first."""
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
        token, until = _lease()
        AnimationTask.objects.filter(pk=task.pk, status=Status.QUEUED).update(
            status=Status.SUBMITTING,
            lease_owner=token,
            lease_until=until,
            submit_tries=task.submit_tries + 1,
            submit_sent_at=now,
            submit_unknown=False,
            next_poll_at=None,
            updated_at=now,
        )
    task.refresh_from_db()
    return task, token


def submit_claimed(task: AnimationTask, token: str) -> bool:
    """Send the create request for a claimed task and record what came back.
    True when the provider took it."""
    client = client_for(task.region)
    assert task.image is not None and task.video is not None
    try:
        submission = client.submit(
            model=task.model,
            image_url=storage.provider_url(task.image),
            video_url=storage.provider_url(task.video),
            mode=task.mode,
            watermark=task.watermark,
        )
    except RateLimited:
        _requeue(task, token, reason=None)
        return False
    except ProviderError as error:
        if error.unknown_outcome:
            _mark_unknown(task, token, error)
        elif error.retryable and task.submit_tries < settings.ANIMATIONS_SUBMIT_MAX_TRIES:
            _requeue(task, token, reason=error)
        else:
            fail_task(task, code=error.code, message=error.message, raw=_error_body(error))
        return False
    return _record_submitted(
        task, token, submission.task_id, raw=submission.raw, key_id=client.key_id
    )


def _locked(task: AnimationTask) -> AnimationTask:
    return AnimationTask.objects.select_for_update().get(pk=task.pk)


def _requeue(task: AnimationTask, token: str, *, reason: ProviderError | None) -> None:
    with transaction.atomic():
        row = _locked(task)
        if row.status != Status.SUBMITTING or row.lease_owner != token:
            return
        row.status = Status.QUEUED
        row.lease_owner, row.lease_until = "", None
        if reason is not None:
            _raw(row, "submit_error", _error_body(reason))
            # Exponential backoff (2, 4, ... 60 provider seconds): a throttled or
            # failing provider is not hammered at the full rate limit.
            row.next_poll_at = timezone.now() + provider_delta(min(60.0, 2.0**row.submit_tries))
        row.save()


def _mark_unknown(task: AnimationTask, token: str, error: ProviderError) -> None:
    """The create request may have reached the provider: keep the slot and hand
    the task to reconciliation (``reconcile_submits``) instead of resending."""
    with transaction.atomic():
        row = _locked(task)
        if row.status != Status.SUBMITTING or row.lease_owner != token:
            return
        row.submit_unknown = True
        row.lease_owner = ""
        row.lease_until = timezone.now() + provider_delta(RECONCILE_AFTER)
        _raw(row, "submit_unknown", _error_body(error))
        row.save()


def _record_submitted(
    task: AnimationTask, token: str | None, provider_task_id: str, *, raw: dict, key_id: str
) -> bool:
    with transaction.atomic():
        row = _locked(task)
        if row.status != Status.SUBMITTING or (token is not None and row.lease_owner != token):
            return False
        now = timezone.now()
        row.status = Status.SUBMITTED
        row.provider_task_id = provider_task_id
        row.provider_status = "PENDING"
        row.provider_key_id = key_id
        row.submitted_at = now
        row.submit_unknown = False
        row.lease_owner, row.lease_until = "", None
        row.next_poll_at = now + provider_delta(
            EXPECTED_QUEUE
            + expected_run(row.mode, row.video_duration)
            - _band(row.mode, row.video_duration)
        )
        _raw(row, "submit", raw)
        row.save()
    log.info("animation_submitted", task_id=str(task.id), provider_task_id=provider_task_id)
    return True


def fill_slots(*, max_submits: int = 10) -> int:
    """Submit queued tasks while their region has free provider slots."""
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
        token, until = _lease()
        won = AnimationTask.objects.filter(
            pk=pk, status=Status.SUBMITTING, lease_until__lt=now
        ).update(lease_owner=token, lease_until=until)
        if not won:
            continue
        task = AnimationTask.objects.get(pk=pk)
        client = client_for(task.region)
        sent = task.submit_sent_at or task.updated_at
        try:
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
            log.warning("animation_submit_reconciled", task_id=str(pk), adopted=adopted)
        else:
            _requeue(task, token, reason=None)
            log.warning("animation_submit_not_found_requeued", task_id=str(pk))
        done += 1
    return done


# Polling
# ------------------------------------------------------------------------------


def expected_run(mode: str, video_seconds: float) -> float:
    """Expected provider run time in provider seconds, corrected by recent history."""
    return _modelled(mode, video_seconds) * _history(mode)[0]


def _modelled(mode: str, video_seconds: float) -> float:
    return EXPECTED_BASE[mode] + EXPECTED_PER_SECOND[mode] * video_seconds


def _history(mode: str) -> tuple[float, float]:
    """``(ratio, spread)`` over the last 50 succeeded runs of a mode: the median of
    actual / modelled run time, and how far below it the fastest twentieth finished
    (so that about 95% of runs end after the first tail poll).
    Until there are 5 runs: (1.0, 0.15)."""
    key = f"animations:history:{mode}"
    cached = cache.get(key)
    if cached is None:
        rows = (
            AnimationTask.objects.filter(
                mode=mode,
                status=Status.SUCCEEDED,
                started_at__isnull=False,
                provider_end_time__isnull=False,
            )
            .order_by("-finished_at")
            .values_list("started_at", "provider_end_time", "video_duration")[:50]
        )
        samples = sorted(
            (ended - started).total_seconds()
            * settings.ANIMATIONS_TIME_SCALE
            / _modelled(mode, seconds)
            for started, ended, seconds in rows
            if ended > started
        )
        if len(samples) >= 5:
            ratio = min(4.0, max(0.25, statistics.median(samples)))
            fastest = samples[len(samples) // 20]
            cached = (ratio, min(0.5, max(0.05, (ratio - fastest) / ratio)))
        else:
            cached = (1.0, 0.15)
        cache.set(key, cached, 60)
    return float(cached[0]), float(cached[1])


def _band(mode: str, video_seconds: float) -> float:
    """Provider seconds before the expected end from which to poll every ``TAIL_POLL``."""
    return max(2 * TAIL_POLL, _history(mode)[1] * expected_run(mode, video_seconds))


def estimated_finish(task: AnimationTask) -> datetime | None:
    """When the result should be ready, from recent history for this mode and
    length; None until the provider has the task (a queue wait is not guessed)."""
    if task.status not in AT_PROVIDER:
        return None
    run = provider_delta(expected_run(task.mode, task.video_duration))
    if task.started_at is not None:
        return task.started_at + run
    assert task.submitted_at is not None
    return task.submitted_at + provider_delta(EXPECTED_QUEUE) + run


def _next_poll(task: AnimationTask, now: datetime) -> datetime:
    """Sleep until the expected end minus the spread of recent runs, then poll every
    ``TAIL_POLL``: few queries for a long job, detection within seconds."""
    if task.provider_status == "PENDING":
        return now + provider_delta(PENDING_POLL)
    finish = estimated_finish(task) or now
    wake = finish - provider_delta(_band(task.mode, task.video_duration))
    return max(wake, now + provider_delta(TAIL_POLL))


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
        token, until = _lease()
        won = (
            AnimationTask.objects.filter(pk=pk, status__in=AT_PROVIDER, next_poll_at__lte=now)
            .filter(free)
            .update(lease_owner=token, lease_until=until)
        )
        if won:
            poll_task(AnimationTask.objects.get(pk=pk), token)
            polled += 1
    return polled


def poll_task(task: AnimationTask, token: str) -> None:
    """One step for a claimed task at the provider. Past the 3-hour limit the
    provider is still asked first: a job it finished late is settled by its
    answer; one it has not finished (or cannot tell us about) fails."""
    now = timezone.now()
    if task.provider_status == "SUCCEEDED" and task.provider_result_url:
        finish_success(task, token)
        return
    expired = bool(task.submitted_at and now - task.submitted_at > provider_delta(MAX_RUNTIME))
    assert task.provider_task_id
    try:
        state = client_for(task.region).query(task.provider_task_id)
    except (ProviderError, RateLimited) as error:
        if expired:
            _fail_timed_out(task)
            return
        with transaction.atomic():
            row = _locked(task)
            if row.lease_owner != token:
                return
            if isinstance(error, ProviderError):
                _raw(row, "query_error", _error_body(error))
            row.lease_owner, row.lease_until = "", None
            row.next_poll_at = now + provider_delta(ERROR_BACKOFF)
            row.save()
        return
    if expired and state.status in {"PENDING", "RUNNING"}:
        _fail_timed_out(task)
        return
    record_poll(task, token, state)


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
        row = _locked(task)
        if row.lease_owner != token or row.status not in AT_PROVIDER:
            return
        _raw(row, "query", state.raw)
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
            row.next_poll_at = _next_poll(row, now)
            row.lease_owner, row.lease_until = "", None
        row.save()
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
        row = _locked(task)
        if row.status not in AT_PROVIDER:
            return
        cost = price(row.model, row.mode, row.usage_duration or row.video_duration)
        charged = min(cost, row.open_credits)
        billing.capture(row.user, charged, ref=row.ref, key=f"{row.ref}:capture")
        now = timezone.now()
        row.credits_charged += charged
        row.credits_refunded += row.open_credits
        row.status = Status.SUCCEEDED
        row.result = result
        row.finished_at = now
        row.lease_owner, row.lease_until, row.next_poll_at = "", None, None
        row.save()
    metrics.TASKS_FINISHED.labels(status="succeeded", type=row.type).inc()
    metrics.CREDITS_CAPTURED.labels(model=row.model, mode=row.mode).inc(charged)
    if row.submitted_at:
        metrics.SUBMIT_TO_RESULT.observe((now - row.submitted_at).total_seconds())
    log.info("animation_succeeded", task_id=str(row.id), charged=charged)


def fail_task(
    task: AnimationTask, *, code: str, message: str, raw: dict[str, Any] | None = None
) -> bool:
    """Release all of the run's credits, record the error, mark failed. Idempotent."""
    with transaction.atomic():
        row = _locked(task)
        if row.status in FINAL:
            return False
        _release(row)
        if raw:
            _raw(row, "error", raw)
        row.status = Status.FAILED
        row.error_code = code[:64]
        row.error_message = message
        row.finished_at = timezone.now()
        row.lease_owner, row.lease_until, row.next_poll_at = "", None, None
        row.save()
    metrics.TASKS_FINISHED.labels(status="failed", type=row.type).inc()
    log.warning("animation_failed", task_id=str(row.id), code=code)
    return True


def _release(row: AnimationTask) -> None:
    billing.release(row.user, ref=row.ref, key=f"{row.ref}:release")
    row.credits_refunded += row.open_credits


def _settle_canceled(
    task: AnimationTask,
    *,
    when: tuple[str, ...] = UNFINISHED,
    error: tuple[str, str] = ("", ""),
) -> AnimationTask | None:
    """Release all of the run's credits and mark canceled, if the task (locked) is
    still in one of the ``when`` states; None otherwise. Idempotent."""
    with transaction.atomic():
        row = _locked(task)
        if row.status not in when:
            return None
        _release(row)
        row.status = Status.CANCELED
        row.error_code, row.error_message = error
        row.finished_at = timezone.now()
        row.lease_owner, row.lease_until, row.next_poll_at = "", None, None
        row.save()
    metrics.TASKS_FINISHED.labels(status="canceled", type=row.type).inc()
    return row


# Cancel, retry, erasure
# ------------------------------------------------------------------------------


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
            client_for(task.region).cancel(str(task.provider_task_id))
        except (ProviderError, RateLimited) as error:
            raise TaskNotCancelable() from error
        _settle_canceled(task)
        task.refresh_from_db()
        if task.status == Status.CANCELED:
            return task
    raise TaskNotCancelable(status=task.status)


def retry_task(task: AnimationTask) -> AnimationTask:
    """Queue a failed or canceled task again as a new run, reserving its cost afresh."""
    with transaction.atomic():
        row = _locked(task)
        if row.status not in (Status.FAILED, Status.CANCELED):
            raise TaskNotRetryable(status=row.status)
        cost = price(row.model, row.mode, row.video_duration)
        row.run += 1
        billing.reserve(row.user, cost, ref=row.ref, key=f"{row.ref}:reserve")
        now = timezone.now()
        row.attempts += 1
        row.credits_reserved += cost
        row.status = Status.QUEUED
        row.queued_at = now
        row.submit_tries = 0
        row.submit_unknown = False
        row.submit_sent_at = None
        row.provider_task_id = None
        row.provider_status = ""
        row.provider_result_url = ""
        row.polls = 0
        row.next_poll_at = row.lease_until = None
        row.lease_owner = ""
        row.submitted_at = row.provider_submit_time = row.started_at = None
        row.provider_end_time = row.finished_at = None
        row.usage_duration = None
        row.usage_ratio = ""
        row.error_code = row.error_message = ""
        row.result = None
        row.save()
        transaction.on_commit(_kick)
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

        transaction.on_commit(
            lambda: [tasks.cancel_at_provider.delay(region, tid) for region, tid in at_provider]
        )
    return canceled


def cancel_at_provider(region: str, provider_task_id: str) -> bool:
    """Ask the provider to drop a task we no longer want; only PENDING ones can be."""
    try:
        client_for(region).cancel(provider_task_id)
    except (ProviderError, RateLimited):
        return False
    return True


# The dispatcher and operations
# ------------------------------------------------------------------------------


@dataclass
class DispatchReport:
    reconciled: int = 0
    submitted: int = 0
    polled: int = 0


def dispatch() -> DispatchReport:
    """One beat of the dispatcher: settle lost submits, fill free slots, poll due
    tasks, then fill the slots those polls freed."""
    report = DispatchReport()
    report.reconciled = reconcile_submits()
    report.submitted = fill_slots()
    report.polled = poll_due()
    if report.polled:
        report.submitted += fill_slots()
    refresh_gauges()
    return report


def refresh_gauges() -> None:
    """Refresh the status and queue gauges, at most every 5 s across workers."""
    if not cache.add("animations:gauges-fresh", 1, 5):
        return
    counts = {(status, kind): 0 for status in UNFINISHED for kind in TaskType.values}
    for row in (
        AnimationTask.objects.filter(status__in=UNFINISHED)
        .values("status", "type")
        .annotate(n=Count("pk"))
    ):
        counts[(row["status"], row["type"])] = row["n"]
    # Every pair is set, zeros too: a status that emptied must not keep its last count.
    for (status, kind), n in counts.items():
        metrics.TASKS_BY_STATUS.labels(status=status, type=kind).set(n)
    for region in settings.DASHSCOPE_BASE_URLS:
        depth = AnimationTask.objects.filter(region=region, status=Status.QUEUED).count()
        metrics.QUEUE_DEPTH.labels(region=region).set(depth)


def slot_usage() -> dict[str, dict[str, int]]:
    """Per region: tasks in flight at the provider, the limit, and the queue depth."""
    usage = {}
    for region in settings.DASHSCOPE_BASE_URLS:
        usage[region] = {
            "in_flight": AnimationTask.objects.filter(region=region, status__in=IN_FLIGHT).count(),
            "limit": settings.DASHSCOPE_MAX_IN_FLIGHT,
            "queued": AnimationTask.objects.filter(region=region, status=Status.QUEUED).count(),
        }
    return usage


def stuck_tasks(*, older_than: timedelta) -> list[AnimationTask]:
    """Unfinished tasks that have not moved for ``older_than``, or whose lease expired."""
    now = timezone.now()
    return list(
        AnimationTask.objects.filter(status__in=IN_FLIGHT)
        .filter(Q(updated_at__lt=now - older_than) | Q(lease_until__lt=now - older_than))
        .order_by("updated_at")[:500]
    )


def recover_task(task: AnimationTask) -> None:
    """Make a stuck task due again: expire its lease and poll it now; the normal
    steps (reconcile, poll, finish) then apply, each idempotent."""
    now = timezone.now()
    AnimationTask.objects.filter(pk=task.pk, status__in=IN_FLIGHT).update(
        lease_owner="",
        lease_until=now - timedelta(seconds=1),
        next_poll_at=now,
    )


def repoll(task: AnimationTask) -> AnimationTask:
    """Poll one task now (support's ``repoll_task``), whatever its next poll time."""
    recover_task(task)
    token, until = _lease()
    won = AnimationTask.objects.filter(pk=task.pk, status__in=AT_PROVIDER).update(
        lease_owner=token, lease_until=until
    )
    if won:
        poll_task(AnimationTask.objects.get(pk=task.pk), token)
    task.refresh_from_db()
    return task


def refund_task(task: AnimationTask, *, staff: User | None, reason: str) -> int:
    """Give back the credits charged for a succeeded task (support's decision), once
    per run: the adjustment's key is the run's. Anything else is
    ``task_not_refundable``: an unfinished or failed run holds no charge."""
    with transaction.atomic():
        row = _locked(task)
        amount = row.credits_charged
        if row.status != Status.SUCCEEDED or amount <= 0:
            raise TaskNotRefundable(status=row.status)
        billing.adjust(
            row.user,
            amount,
            reason=reason or f"refund of {row.ref}",
            key=f"{row.ref}:refund",
            staff=staff,
        )
    return amount


def reservations_match_tasks() -> list[str]:
    """For ``billing.check_ledger``: each animation ref's open reservation equals its
    task's open credits, and finished runs hold nothing."""
    from billing.models import LedgerEntry

    problems: list[str] = []
    open_by_ref = {
        row["ref"]: int(row["open"] or 0)
        for row in LedgerEntry.objects.filter(ref__startswith="animation_task:")
        .values("ref")
        .annotate(open=Sum("reserved_delta"))
    }
    tasks = {
        t.ref: t for t in AnimationTask.objects.filter(pk__in=_ids_from_refs(open_by_ref.keys()))
    }
    for ref, amount in open_by_ref.items():
        task = tasks.get(ref)
        expected = task.open_credits if task and task.status in UNFINISHED else 0
        if amount != expected:
            problems.append(f"{ref}: {amount} reserved, task holds {expected}")
    return problems


def referenced_file_ids() -> set[uuid.UUID]:
    """For ``purge_files``: every file a task still points at (inputs and result)
    is in use, whatever the task's status, so a retry or a support refund can
    still find it."""
    ids: set[uuid.UUID] = set()
    for row in AnimationTask.objects.values_list("image_id", "video_id", "result_id").iterator():
        ids.update(pk for pk in row if pk is not None)
    return ids


def _ids_from_refs(refs: Any) -> list[uuid.UUID]:
    ids = []
    for ref in refs:
        try:
            ids.append(uuid.UUID(ref.split(":")[1]))
        except (IndexError, ValueError):
            continue
    return ids
