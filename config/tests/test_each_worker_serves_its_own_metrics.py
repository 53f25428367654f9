"""Every Celery worker serves /metrics with the counts of all its pool processes."""

from __future__ import annotations

import socket
import time
from wsgiref.util import setup_testing_defaults

import pytest
from prometheus_client.parser import text_string_to_metric_families

from config import worker_metrics
from config.celery import app
from config.tests.worker_process import worker_process  # noqa: F401


def _samples(page: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(page)
        for s in family.samples
    }


def _value(page: str, name: str, **labels: str) -> float:
    return _samples(page).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.django_db(transaction=True)
def test_a_prefork_worker_serves_what_its_pool_processes_ran(worker_process) -> None:  # noqa: F811
    # Given a worker with two pool processes
    worker_process.start()
    flush = "accounts.flush_expired_tokens"
    # When it runs six tasks, and one that fails (called with arguments it does not take)
    for _ in range(6):
        app.send_task(flush)
    app.send_task(flush, args=["unexpected"])
    deadline = time.monotonic() + 30
    while True:
        page = worker_process.scrape()
        done = _value(page, "celery_tasks_total", task=flush, outcome="succeeded")
        failed = _value(page, "celery_tasks_total", task=flush, outcome="failed")
        if (done, failed) == (6, 1) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    # Then its /metrics counts them by outcome, with their run and wait times
    assert (done, failed) == (6, 1)
    assert _value(page, "celery_task_runtime_seconds_count", task=flush) == 7
    assert _value(page, "celery_task_wait_seconds_count", task=flush) == 7
    # And the counts were kept in the pool processes' files, not the main process
    pids = {p.name.rsplit("_", 1)[1] for p in worker_process.metrics_dir.glob("counter_*.db")}
    assert pids - {str(worker_process.process.pid)}


def _call(app_, **environ: str) -> str:
    env: dict[str, object] = {"PATH_INFO": "/metrics", "REMOTE_ADDR": "127.0.0.1", **environ}
    setup_testing_defaults(env)
    statuses: list[str] = []
    b"".join(app_(env, lambda status, headers: statuses.append(status)))
    return statuses[0]


@pytest.mark.django_db
def test_the_worker_answers_only_direct_scrapes_from_allowed_networks(settings) -> None:
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8", "10.0.0.0/8"]
    from config.metrics import address_allowed

    served = worker_metrics.metrics_app(address_allowed)

    assert _call(served).startswith("200")
    assert _call(served, REMOTE_ADDR="10.1.2.3").startswith("200")
    assert _call(served, REMOTE_ADDR="203.0.113.7").startswith("404")
    assert _call(served, HTTP_X_FORWARDED_FOR="203.0.113.7").startswith("404")
    assert _call(served, PATH_INFO="/").startswith("404")


def test_a_worker_whose_metrics_port_is_taken_keeps_working(settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings.WORKER_METRICS_PORT = taken.getsockname()[1]
        settings.WORKER_METRICS_ADDRESS = "127.0.0.1"

        assert worker_metrics.serve_from_settings("solo") is None


def test_no_port_no_server(settings) -> None:
    settings.WORKER_METRICS_PORT = 0

    assert worker_metrics.serve_from_settings("prefork") is None
