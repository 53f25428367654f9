"""Each use of Redis decides what an outage means (docs/architecture.md, "Failure
modes"), proved on a Redis of the test's own that it kills or freezes: throttles
keep counting in this process and fail open against the shared limit, the
router's pin reads the primary, a dispatcher kick with the broker down is
skipped, and none of it answers a 500 or waits on a frozen server per call."""

from __future__ import annotations

import time

import pytest
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from config import outage
from config.tests.faults import RedisServer

pytestmark = pytest.mark.django_db


def _events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.msg["event"] for r in caplog.records if isinstance(r.msg, dict)]


def _unavailable(use: str, dependency: str = "redis") -> float:
    value = REGISTRY.get_sample_value(
        "animate_dependency_unavailable_total", {"dependency": dependency, "use": use}
    )
    return value or 0.0


@pytest.fixture
def signed_in() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory())
    return client


@pytest.fixture
def user_rate(settings) -> None:
    rest = {**settings.REST_FRAMEWORK}
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "user": "3/min"}
    settings.REST_FRAMEWORK = rest


@pytest.mark.usefixtures("user_rate")
def test_throttles_fail_open_to_a_count_per_process_while_redis_is_down(
    own_redis_cache: RedisServer, signed_in: APIClient, caplog
) -> None:
    # Given a user allowed 3 requests a minute, one of them spent while Redis was up
    assert signed_in.get("/api/users/credits").status_code == 200
    before = _unavailable("throttle")
    # When Redis is killed
    with own_redis_cache.down():
        codes = [signed_in.get("/api/users/credits").status_code for _ in range(4)]
    # Then the calls answer (no 500): the shared count is unreadable, so this
    # process counts on its own from zero and still stops a flood
    assert codes == [200, 200, 200, 429]
    # And the throttle's outage path was counted, the outage logged once
    assert _unavailable("throttle") > before
    assert _events(caplog).count("redis_unavailable") == 1


def test_a_frozen_redis_costs_one_socket_timeout_not_one_per_call(
    own_redis_cache: RedisServer, signed_in: APIClient, monkeypatch
) -> None:
    # Given Redis frozen (its socket timeout here: 1 s per operation; each call
    # makes two throttle reads and writes), and tried again only after a minute
    monkeypatch.setattr(outage.redis_breaker, "retry_after_seconds", 60.0)
    with own_redis_cache.frozen():
        started = time.monotonic()
        codes = [signed_in.get("/api/auth/me").status_code for _ in range(5)]
        elapsed = time.monotonic() - started
    # Then the first call waited for one timeout and the others not at all
    assert codes == [200] * 5
    assert elapsed < 2.5


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("config.tests.urls_router")
def test_the_pin_lookup_reads_the_primary_while_redis_is_down(
    own_redis_cache: RedisServer, settings
) -> None:
    # Given replicas configured and a signed-in API client without cookies
    settings.DATABASE_REPLICAS = ["replica-unconfigured"]
    client = APIClient()
    client.force_authenticate(UserFactory())
    assert client.get("/probe/api/sites").json()["reason"] is None  # Redis up: no pin
    before = _unavailable("db_pin")
    # When Redis is down, the pin cannot be read
    with own_redis_cache.down():
        first = client.get("/probe/api/sites").json()
        second = client.get("/probe/api/sites").json()
    # Then both read the primary, and each pin lookup took its outage path
    assert first["reason"] == "pinned"
    assert second["reason"] == "pinned"
    assert _unavailable("db_pin") == before + 2


def test_a_task_sent_to_a_broker_that_is_down_is_skipped_after_one_try(
    own_redis: RedisServer, monkeypatch, caplog
) -> None:
    # Given the Celery broker is a Redis that was killed
    from animations import tasks
    from animations.tests.conftest import _reset_pools
    from config.celery import app

    saved = app.conf.broker_url, app.conf.task_always_eager
    # Celery reads CELERY_BROKER_URL from the environment before its own settings.
    monkeypatch.setenv("CELERY_BROKER_URL", own_redis.url(1))
    app.conf.update(broker_url=own_redis.url(1), task_always_eager=False)
    _reset_pools(app)
    own_redis.kill()
    outage.broker_breaker.reset()
    before = _unavailable("dispatch_kick", "broker")
    try:
        # When the dispatcher is kicked three times (three creates)
        started = time.monotonic()
        sent = [outage.enqueue(tasks.dispatch, use="dispatch_kick") for _ in range(3)]
        elapsed = time.monotonic() - started
    finally:
        monkeypatch.undo()
        app.conf.update(broker_url=saved[0], task_always_eager=saved[1])
        _reset_pools(app)
        outage.broker_breaker.reset()
    # Then none was sent and none raised; the broker was tried once, the outage
    # counted for each and logged once
    assert sent == [False, False, False]
    assert elapsed < 5
    assert _unavailable("dispatch_kick", "broker") == before + 3
    assert _events(caplog).count("broker_unavailable") == 1
