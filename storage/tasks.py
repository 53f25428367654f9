"""Celery entry points: load by id, call a service, nothing else."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from storage import services


@shared_task(name="storage.purge_file_objects", acks_late=True)
def purge_file_objects(file_ids: list[str]) -> int:
    """Delete the objects of soft-deleted files; purged files are skipped, so a rerun is
    harmless. An object a backend failed to delete is left to ``retry_unpurged``."""
    return services.purge_objects(file_ids)


@shared_task(name="storage.retry_unpurged")
def retry_unpurged() -> int:
    """Hourly: remove objects whose purge failed earlier (a backend was down)."""
    return services.retry_unpurged(older_than=timedelta(hours=1))
