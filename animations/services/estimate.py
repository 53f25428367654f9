"""When a job should finish, from a model of run time corrected by recent history,
and so when to poll it next."""

from __future__ import annotations

import statistics
from datetime import datetime

from django.conf import settings
from django.core.cache import cache

from animations.models import AT_PROVIDER, AnimationTask, Status
from animations.services.common import provider_delta

# Expected provider run time: base + per second of video, by mode (provider
# seconds). The official example: a 5.2 s wan-std job ran ~2.5 min.
EXPECTED_BASE = {"wan-std": 20.0, "wan-pro": 30.0}
EXPECTED_PER_SECOND = {"wan-std": 25.0, "wan-pro": 40.0}
# Provider seconds between the create call and the provider scheduling it.
EXPECTED_QUEUE = 2.0
# Close to the expected end, poll this often: detection within ~3 s, while a
# job of minutes costs only a handful of queries.
TAIL_POLL = 3.0
PENDING_POLL = 15.0


def expected_run(mode: str, video_seconds: float) -> float:
    """Expected provider run time in provider seconds, corrected by recent history."""
    return _modelled(mode, video_seconds) * _history(mode)[0]


def _modelled(mode: str, video_seconds: float) -> float:
    return EXPECTED_BASE[mode] + EXPECTED_PER_SECOND[mode] * video_seconds


def _history(mode: str) -> tuple[float, float]:
    """``(ratio, spread)`` over the last 50 succeeded runs of a mode: the median of
    actual / modelled run time, and how far below it the fastest twentieth finished
    (so that about 95% of runs end after the first tail poll).
    Until there are 5 runs: (1.0, 0.15)."""
    key = f"animations:history:{mode}"
    cached = cache.get(key)
    if cached is None:
        rows = (
            AnimationTask.objects.filter(
                mode=mode,
                status=Status.SUCCEEDED,
                started_at__isnull=False,
                provider_end_time__isnull=False,
            )
            .order_by("-finished_at")
            .values_list("started_at", "provider_end_time", "video_duration")[:50]
        )
        samples = sorted(
            (ended - started).total_seconds()
            * settings.ANIMATIONS_TIME_SCALE
            / _modelled(mode, seconds)
            for started, ended, seconds in rows
            # Never None (filtered above); the check tells the type checker so.
            if started is not None and ended is not None and ended > started
        )
        if len(samples) >= 5:
            ratio = min(4.0, max(0.25, statistics.median(samples)))
            fastest = samples[len(samples) // 20]
            cached = (ratio, min(0.5, max(0.05, (ratio - fastest) / ratio)))
        else:
            cached = (1.0, 0.15)
        cache.set(key, cached, 60)
    return float(cached[0]), float(cached[1])


def tail_band(mode: str, video_seconds: float) -> float:
    """Provider seconds before the expected end from which to poll every ``TAIL_POLL``."""
    return max(2 * TAIL_POLL, _history(mode)[1] * expected_run(mode, video_seconds))


def estimated_finish(task: AnimationTask) -> datetime | None:
    """When the result should be ready, from recent history for this mode and
    length; None until the provider has the task (a queue wait is not guessed)."""
    if task.status not in AT_PROVIDER:
        return None
    run = provider_delta(expected_run(task.mode, task.video_duration))
    if task.started_at is not None:
        return task.started_at + run
    assert task.submitted_at is not None
    return task.submitted_at + provider_delta(EXPECTED_QUEUE) + run


def next_poll(task: AnimationTask, now: datetime) -> datetime:
    """Sleep until the expected end minus the spread of recent runs, then poll every
    ``TAIL_POLL``: few queries for a long job, detection within seconds."""
    if task.provider_status == "PENDING":
        return now + provider_delta(PENDING_POLL)
    finish = estimated_finish(task) or now
    wake = finish - provider_delta(tail_band(task.mode, task.video_duration))
    return max(wake, now + provider_delta(TAIL_POLL))
