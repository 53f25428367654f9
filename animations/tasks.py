"""Celery entry points: thin, idempotent, safe to retry."""

from __future__ import annotations

from celery import shared_task

from animations import services


@shared_task(ignore_result=True)
def dispatch() -> dict[str, int]:
    """The beat-driven dispatcher (also kicked on commit of a new task)."""
    report = services.dispatch()
    return {"reconciled": report.reconciled, "submitted": report.submitted, "polled": report.polled}


@shared_task(ignore_result=True)
def cancel_at_provider(region: str, provider_task_id: str) -> bool:
    return services.cancel_at_provider(region, provider_task_id)
