"""The dispatcher's beat and what operators and support use: slot usage,
stuck tasks, repoll, refunds, and the checks other apps run against tasks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import User
from animations.errors import TaskNotRefundable
from animations.models import (
    AT_PROVIDER,
    IN_FLIGHT,
    UNFINISHED,
    AnimationTask,
    Status,
)
from animations.services.common import lease, locked
from animations.services.lifecycle import poll_due, poll_task
from animations.services.submission import fill_slots, reconcile_submits
from billing import services as billing


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
    return report


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
    """Unfinished tasks past their lease (a worker claimed them and stopped
    renewing it, or a settled step waits for a dispatcher that is not running),
    however recently, and those that have not moved for ``older_than``."""
    now = timezone.now()
    return list(
        AnimationTask.objects.filter(status__in=IN_FLIGHT)
        .filter(Q(updated_at__lt=now - older_than) | Q(lease_until__lt=now))
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
    token, until = lease()
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
        row = locked(task)
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
