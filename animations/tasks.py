"""Celery entry points: thin, idempotent, safe to retry."""

from __future__ import annotations

from celery import Task, shared_task

from animations import services
from animations.limiter import RateLimited


# Explicit names, the ones these tasks always had: queued messages and the beat
# schedule name them, so moving a function must not rename its task.
@shared_task(name="animations.tasks.dispatch", ignore_result=True)
def dispatch() -> dict[str, int]:
    """The beat-driven dispatcher (also kicked on commit of a new task)."""
    report = services.dispatch()
    return {"reconciled": report.reconciled, "submitted": report.submitted, "polled": report.polled}


@shared_task(
    name="animations.tasks.cancel_at_provider", bind=True, ignore_result=True, max_retries=20
)
def cancel_at_provider(self: Task, region: str, provider_task_id: str) -> bool:
    """Ask the provider to drop a task; with no rate token free, run again later
    (a countdown, never a sleep in the worker)."""
    try:
        return services.cancel_at_provider(region, provider_task_id)
    except RateLimited as limited:
        raise self.retry(countdown=max(1.0, limited.retry_after)) from limited
