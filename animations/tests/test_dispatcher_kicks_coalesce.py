"""A burst of creates queues one dispatcher run, not one each: a kick sends
nothing while a kicked run has not started yet (the beat runs the dispatcher
every second anyway), and a run that starts lets the next task kick again, so
the first job of a quiet platform still starts at once."""

from __future__ import annotations

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
def test_a_burst_of_kicks_sends_one_run_until_a_run_starts(published) -> None:
    # When five tasks are committed before any dispatcher run starts
    for _ in range(5):
        common.kick()
    # Then one run was sent
    assert published.count("animations.tasks.dispatch") == 1
    # When that run starts (here, in-line) and a task is committed after it
    services.dispatch()
    common.kick()
    # Then that task kicks a run of its own
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
