"""Each Celery worker serves its own ``/metrics`` for Prometheus.

What it serves: the task metrics below, counted by Celery's signals in the pool
process that ran the task, and every other counter the tasks touch (provider
calls, jobs finished, payments settled by reconciliation, the router's reads).
A prefork pool runs tasks in child processes, so the worker needs
``PROMETHEUS_MULTIPROC_DIR`` (a directory of its own, empty at start): each
process keeps its values in files there and the main process adds them up at
every scrape. The gauges read from the database are the web's to serve.

``WORKER_METRICS_PORT`` turns the server on (0, the default, leaves it off);
it listens on ``WORKER_METRICS_ADDRESS`` and, like the web's
``/metrics``, answers only direct requests from ``METRICS_ALLOWED_NETWORKS``.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import prometheus_client
import structlog
from celery.signals import (
    before_task_publish,
    task_postrun,
    task_prerun,
    task_rejected,
    task_revoked,
    worker_process_shutdown,
)
from prometheus_client import Counter, Histogram, multiprocess

logger = structlog.get_logger(__name__)

TASKS = Counter(
    "celery_tasks_total",
    "Celery tasks run by this worker, by task name and outcome "
    "(succeeded, failed, retried, rejected, revoked).",
    ["task", "outcome"],
)
RUNTIME = Histogram(
    "celery_task_runtime_seconds",
    "How long a task ran, by task name.",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
WAIT = Histogram(
    "celery_task_wait_seconds",
    "From the task being published to a worker starting it, by task name.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)

# Set on every message we publish, read back when a worker starts the task.
PUBLISHED_AT = "animate_published_at"
_OUTCOMES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}
_started: dict[str, float] = {}


@before_task_publish.connect
def _stamp(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    if headers is not None:
        headers.setdefault(PUBLISHED_AT, time.time())


@task_prerun.connect
def _start(task_id: str, task: Any, **kwargs: Any) -> None:
    _started[task_id] = time.perf_counter()
    published = getattr(task.request, PUBLISHED_AT, None)
    if isinstance(published, int | float):
        WAIT.labels(task=task.name).observe(max(time.time() - published, 0.0))


@task_postrun.connect
def _finish(task_id: str, task: Any, state: str | None = None, **kwargs: Any) -> None:
    started = _started.pop(task_id, None)
    if started is not None:
        RUNTIME.labels(task=task.name).observe(time.perf_counter() - started)
    TASKS.labels(task=task.name, outcome=_OUTCOMES.get(state or "", (state or "").lower())).inc()


@task_revoked.connect
def _revoked(request: Any = None, **kwargs: Any) -> None:
    TASKS.labels(task=getattr(request, "task", "") or "unknown", outcome="revoked").inc()


@task_rejected.connect
def _rejected(message: Any = None, **kwargs: Any) -> None:
    headers = getattr(message, "headers", None) or {}
    TASKS.labels(task=headers.get("task") or "unknown", outcome="rejected").inc()


@worker_process_shutdown.connect
def _pool_process_exits(pid: int | None = None, **kwargs: Any) -> None:
    """A pool process that exits keeps its counts, but not its live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid or os.getpid())


# The server
# ------------------------------------------------------------------------------


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every 15 s are not worth a log line each."""


def metrics_app(
    allowed: Callable[[str], bool],
) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """A WSGI app: ``GET /metrics`` for allowed direct clients, 404 for anything else."""
    from config.metrics import process_registry

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        direct = "HTTP_X_FORWARDED_FOR" not in environ
        if environ.get("PATH_INFO") != "/metrics" or not (
            direct and allowed(environ.get("REMOTE_ADDR", ""))
        ):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not Found\n"]
        page = prometheus_client.generate_latest(process_registry())
        start_response(
            "200 OK",
            [
                ("Content-Type", prometheus_client.CONTENT_TYPE_LATEST),
                ("Cache-Control", "no-cache"),
            ],
        )
        return [page]

    return app


def clear_other_processes(directory: str) -> int:
    """Drop the files of processes other than this one (an earlier run's); returns how many."""
    removed = 0
    for path in Path(directory).glob("*.db"):
        match = re.search(r"_(\d+)\.db$", path.name)
        if match and int(match.group(1)) != os.getpid():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    return removed


def serve(port: int, address: str) -> WSGIServer:
    """Serve ``/metrics`` on ``address:port`` in a daemon thread; returns the server."""
    from config.metrics import address_allowed

    server = make_server(
        address, port, metrics_app(address_allowed), _Server, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    return server


def serve_from_settings(pool: str | None = None) -> WSGIServer | None:
    """At worker start (``worker_init``): the server, when the settings ask for one."""
    from django.conf import settings

    port = settings.WORKER_METRICS_PORT
    if not port:
        return None
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        clear_other_processes(directory)
    elif pool not in {"solo", "threads"}:
        logger.warning(
            "worker_metrics_without_multiproc_dir",
            detail="PROMETHEUS_MULTIPROC_DIR is not set: the pool processes' counts are not served",
        )
    address = settings.WORKER_METRICS_ADDRESS
    try:
        server = serve(port, address)
    except OSError as exc:
        # Jobs matter more than their figures: keep working, say so loudly.
        logger.error("worker_metrics_unavailable", address=address, port=port, error=str(exc))
        return None
    logger.info("worker_metrics_serving", address=address, port=server.server_port)
    return server
