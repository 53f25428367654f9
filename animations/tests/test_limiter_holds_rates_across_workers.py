"""The shared limiter keeps every worker together within the per-key rate, on real Redis."""

from __future__ import annotations

import threading
import time

import pytest
import redis
from django_redis import get_redis_connection

from animations.limiter import FileLimiter, LocalLimiter, RateLimited, RedisLimiter
from config.tests.concurrency import run_together


def _max_in_any_second(stamps: list[float]) -> int:
    stamps = sorted(stamps)  # seconds, Redis server clock
    best = 0
    j = 0
    for i, t in enumerate(stamps):
        while t - stamps[j] > 1.0 - 1e-9:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_eight_workers_never_exceed_twenty_queries_a_second(settings) -> None:
    # Given two "workers" (separate Redis connections), four threads each
    settings.DASHSCOPE_QUERY_RPS = 20
    settings.ANIMATIONS_TIME_SCALE = 1.0
    url = settings.CACHES["default"]["LOCATION"]
    limiters = [RedisLimiter(redis.Redis.from_url(url), prefix="t-rate") for _ in range(2)]
    stamps: list[float] = []
    # Threads of one worker share its connection; the lock only keeps each
    # admission and its server timestamp together.
    locks = [threading.Lock(), threading.Lock()]

    def worker(n: int) -> int:
        limiter, lock = limiters[n % 2], locks[n % 2]
        for _ in range(8):
            with lock:
                limiter.acquire("key-a", "query", max_wait=30)
                stamps.append(limiter.last_admitted)
        return n

    started = time.monotonic()
    # When 64 queries are wanted at once
    finished = run_together(8, worker)
    # Then every worker finished, and the queries were spread out: never more than
    # 20 in a second, all served
    assert sorted(finished) == list(range(8))
    assert len(stamps) == 64
    assert _max_in_any_second(stamps) <= 20
    assert time.monotonic() - started >= 3.0


def test_keys_and_kinds_have_separate_windows(settings) -> None:
    settings.DASHSCOPE_SUBMIT_RPS = 5
    settings.ANIMATIONS_TIME_SCALE = 1.0
    limiter = RedisLimiter(get_redis_connection("default"), prefix="t-sep")
    assert [limiter.try_acquire("k1", "submit") for _ in range(5)] == [0.0] * 5
    assert limiter.try_acquire("k1", "submit") > 0
    assert limiter.try_acquire("k2", "submit") == 0.0
    assert limiter.try_acquire("k1", "query") == 0.0


def test_waiting_longer_than_allowed_raises_without_a_token(settings) -> None:
    settings.DASHSCOPE_SUBMIT_RPS = 1
    settings.ANIMATIONS_TIME_SCALE = 1.0
    limiter = LocalLimiter()
    limiter.acquire("k", "submit")
    with pytest.raises(RateLimited):
        limiter.acquire("k", "submit", max_wait=0.1)


def test_file_limiter_shares_one_window_between_instances(settings, tmp_path) -> None:
    # Two instances stand for two processes of the embedded mode
    settings.DASHSCOPE_SUBMIT_RPS = 5
    settings.ANIMATIONS_TIME_SCALE = 1.0
    first, second = FileLimiter(tmp_path), FileLimiter(tmp_path)
    taken = [first.try_acquire("k", "submit") for _ in range(3)]
    taken += [second.try_acquire("k", "submit") for _ in range(3)]
    assert taken[:5] == [0.0] * 5
    assert taken[5] > 0
