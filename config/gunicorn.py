"""Gunicorn hooks for the web service (``gunicorn -c python:config.gunicorn``).

With several workers each process has its own Prometheus counters, so
``/metrics`` would answer with whichever worker took the scrape. When
``PROMETHEUS_MULTIPROC_DIR`` is set, prometheus_client keeps every worker's
values in files there and django-prometheus's ``/metrics`` adds them up; these
hooks empty the directory when the server starts and drop the files of workers
that exit.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any


def on_starting(server: Any) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
