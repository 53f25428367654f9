"""A real Celery worker in its own process, as the deployment runs it: a prefork
pool, ``PROMETHEUS_MULTIPROC_DIR`` and its own ``/metrics`` (config/worker_metrics.py).

The worker reads the test database and the Redis broker the test publishes to;
settings the test changed reach it as environment variables (``env``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """Stop a process the tests started: SIGTERM, then SIGKILL after 20 s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"mysql://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 3306}/{db['NAME']}"


class WorkerProcess:
    def __init__(self, *, broker: str, env: dict[str, str], tmp: Path) -> None:
        self.port = free_port()
        self.metrics_dir = tmp / "worker-metrics"
        self.log = tmp / "worker.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": broker,
            "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir),
            "WORKER_METRICS_PORT": str(self.port),
            "WORKER_METRICS_ADDRESS": "127.0.0.1",
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def start(self) -> None:
        self.metrics_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "celery", "-A", "config", "worker"]
        command += [
            "--pool=prefork",
            "--concurrency=2",
            "--loglevel=WARNING",
            "--without-heartbeat",
        ]
        command += ["--without-gossip", "--without-mingle"]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited:\n{self.log.read_text()}")
            try:
                if httpx.get(self.metrics_url, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the worker never served /metrics:\n{self.log.read_text()}")

    def scrape(self) -> str:
        response = httpx.get(self.metrics_url, timeout=5)
        assert response.status_code == 200, response.text
        return response.text

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a crash or an OOM
        kill would: no task is finished, nothing is given back."""
        assert self.process is not None
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        pool = [int(child) for child in children.read_text().split()] if children.exists() else []
        for child in [pid, *pool]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        stop_process(self.process)


@pytest.fixture
def worker_process(settings, tmp_path, monkeypatch) -> Iterator[WorkerProcess]:
    """Start with ``worker_process.start()`` once the test has set what the worker
    must see (``worker_process.env``); the test's own tasks go to its broker."""
    from animations.tests.conftest import _reset_pools
    from config.celery import app

    broker = os.environ.get("ANIMATIONS_TEST_BROKER", "redis://127.0.0.1:6379/6")
    redis.Redis.from_url(broker).flushdb()
    saved = {k: app.conf.get(k) for k in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=broker, task_always_eager=False)
    # Celery reads CELERY_BROKER_URL from the environment before its own settings.
    monkeypatch.setenv("CELERY_BROKER_URL", broker)
    _reset_pools(app)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    worker = WorkerProcess(broker=broker, env={}, tmp=tmp_path)
    try:
        yield worker
    finally:
        worker.stop()
        monkeypatch.undo()
        app.conf.update(saved)
        _reset_pools(app)
