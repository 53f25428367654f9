"""The Celery application. Tasks live in each app's ``tasks.py``.

Database routing in tasks: a task reads and writes the primary, because it
usually acts on state a request has just committed and a replica may not have
yet. A task whose reads may be stale (reports, sweeps) opts in to replicas with
``@shared_task(read_replicas=True)``; it still writes the primary and, once it
has written, reads the primary too.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging, task_postrun, task_prerun, worker_init
from django_structlog.celery.steps import DjangoStructLogInitStep

from config import worker_metrics  # its signal handlers count every task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("animate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# django-structlog binds each task's log context (task id, and the request id of
# the request that enqueued it) only once this step runs in the worker.
app.steps["worker"].add(DjangoStructLogInitStep)

# task id -> the token that restores the pinning state the task found.
_pin_tokens: dict[str, contextvars.Token] = {}


@task_prerun.connect
def _pin_task(task_id: str, task: Any, **kwargs: Any) -> None:
    from config import db_router

    read_replicas = bool(getattr(task, "read_replicas", False))
    _pin_tokens[task_id] = db_router.begin(db_router.PinState(primary_only=not read_replicas))


@task_postrun.connect
def _unpin_task(task_id: str, **kwargs: Any) -> None:
    from config import db_router

    token = _pin_tokens.pop(task_id, None)
    if token is not None:
        # A token set in another context cannot be reset there; that context ends anyway.
        with contextlib.suppress(ValueError):
            db_router.end(token)


@setup_logging.connect
def _use_django_logging(**kwargs: object) -> None:
    """Let Celery log through Django's LOGGING (structlog) instead of its own."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@worker_init.connect
def _serve_worker_metrics(sender: Any = None, **kwargs: object) -> None:
    """The worker's own /metrics (config/worker_metrics.py), when configured."""
    pool_cls = getattr(sender, "pool_cls", None)
    pool = str(getattr(pool_cls, "__module__", pool_cls or "")).rsplit(".", 1)[-1]
    worker_metrics.serve_from_settings(pool)
