"""A burst of creates queues one dispatcher run a beat interval, not one each:
a kick sends nothing for one interval after a kick sent a run (the beat runs
the dispatcher every interval anyway), whether or not that run has started, so
a steady stream of creates cannot keep the workers busy with back-to-back runs;
the first job of a quiet platform still starts at once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from celery.signals import before_task_publish

from animations import services
from animations.services import common
from animations.tests.conftest import _reset_pools
from config.celery import app


@pytest.fixture
def published() -> Iterator[list[str]]:
    """Tasks really sent to a broker (an in-memory one), by name."""
    names: list[str] = []

    def record(sender: str | None = None, **_: object) -> None:
        names.append(str(sender))

    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.update(broker_url="memory://", task_always_eager=False)
    _reset_pools(app)
    before_task_publish.connect(record, weak=False)
    try:
        yield names
    finally:
        before_task_publish.disconnect(record)
        app.conf.update(broker_url=saved[0], task_always_eager=saved[1])
        _reset_pools(app)


@pytest.mark.django_db
def test_a_burst_of_kicks_sends_one_run_per_beat_interval(published, settings) -> None:
    settings.ANIMATIONS_DISPATCH_INTERVAL = 0.2
    # When the first task of a quiet platform is committed
    common.kick()
    # Then a run is sent at once
    assert published.count("animations.tasks.dispatch") == 1
    # When that run starts (here, in-line) and more tasks are committed in the same interval
    services.dispatch()
    for _ in range(5):
        common.kick()
    # Then nothing more is sent: the next run (kicked or beat) sees them
    assert published.count("animations.tasks.dispatch") == 1
    # When the interval has passed, the next task kicks a run again
    time.sleep(0.3)
    common.kick()
    assert published.count("animations.tasks.dispatch") == 2


@pytest.mark.django_db
def test_a_kicked_run_that_never_starts_holds_kicks_back_one_beat_interval_only(
    published, settings
) -> None:
    from django.core.cache import cache

    # Given a kick whose run never started (a lost message, a busy worker)
    common.kick()
    # Then the hold lasts one beat interval (the key's expiry), after which kicks send again
    assert cache.ttl(common.KICK_KEY) <= settings.ANIMATIONS_DISPATCH_INTERVAL
    assert published.count("animations.tasks.dispatch") == 1
