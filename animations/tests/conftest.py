"""Fixtures: the DashScope simulator and a media host, both real servers on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from animations.simulator import Simulator
from animations.tests.fakes.media_host import MediaHost
from billing.tests.ledger import _ledger_stays_exact  # noqa: F401  (every scenario ends exact)

# Provider minutes become milliseconds: a std task of a 3 s video "runs" 95 s, here 0.095 s.
TEST_TIME_SCALE = 1000.0


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    sim = Simulator(time_scale=TEST_TIME_SCALE, schedule_delay=0.0)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def media_host() -> Iterator[MediaHost]:
    host = MediaHost()
    yield host
    host.close()


@pytest.fixture
def provider(settings, simulator, live_server) -> Simulator:
    """Our settings pointed at the simulator; our server (live) serves the inputs it fetches."""
    settings.SITE_URL = live_server.url
    settings.DASHSCOPE_BASE_URLS = {"cn": simulator.base_url, "global": simulator.base_url}
    settings.DASHSCOPE_API_KEYS = {"cn": "sk-test-cn", "global": "sk-test-global"}
    settings.ANIMATIONS_TIME_SCALE = TEST_TIME_SCALE
    settings.DASHSCOPE_MAX_IN_FLIGHT = 1
    settings.DASHSCOPE_READ_TIMEOUT = 3.0
    settings.STORAGE_ALLOW_LOOPBACK_IMPORTS = True
    return simulator


@pytest.fixture
def celery_worker(settings) -> Iterator[object]:
    """A real Celery worker (thread) consuming a Redis broker on db 6."""
    import redis
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    broker = os.environ.get("ANIMATIONS_TEST_BROKER", "redis://127.0.0.1:6379/6")
    redis.Redis.from_url(broker).flushdb()
    saved = {k: app.conf.get(k) for k in ("broker_url", "task_always_eager", "result_backend")}
    app.conf.update(broker_url=broker, task_always_eager=False, result_backend="cache+memory://")
    _reset_pools(app)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker
    app.conf.update(saved)
    _reset_pools(app)


def _reset_pools(app: object) -> None:
    """Connections made for the previous broker URL must not be reused."""
    from kombu import pools

    pools.reset()
    app._pool = None  # type: ignore[attr-defined]
    app.amqp._producer_pool = None  # type: ignore[attr-defined]


@pytest.fixture
def own_redis_limiter(own_redis_cache) -> Iterator[object]:
    """The provider limiter on the test's own Redis (the cache's, as deployed), read
    by fresh clients: the test may kill or freeze it."""
    from animations.limiter import get_limiter
    from animations.services import common

    def forget() -> None:
        get_limiter.cache_clear()
        for client in common._clients.values():
            client.close()
        common._clients.clear()

    forget()
    try:
        yield own_redis_cache
    finally:
        forget()
