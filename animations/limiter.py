"""The provider rate limiter shared by every worker.

DashScope allows, per API key, 5 create-task and 20 query requests per second.
All workers take a token here before each call: a sliding one-second window (one
provider second: ``1 / ANIMATIONS_TIME_SCALE`` against a faster simulator) in
Redis (one Lua script, so check-and-add is atomic and uses the Redis server's
clock, not each worker's). Without Redis (the embedded default, one host) a
locked file under VAR_DIR does the same job across its processes.

Nothing here waits by default: a worker that finds no token gets ``RateLimited``
(with the seconds until one may be free) and the dispatcher tries again on a
later beat, so no worker ever sleeps for a token. Only a caller a person is
waiting on (a cancel from the API) may allow a short wait (``max_wait``).

Redis down (or frozen) does not open the limits: a window nobody can read is
no permission to call DashScope. ``RedisLimiter`` then raises
``LimiterUnavailable``, a ``RateLimited``, so every worker path does what it
does without a token (claims nothing, polls later) and a person's cancel gets
503; ``config.outage.redis_breaker`` keeps a frozen server from costing each
call its socket timeout.

The third limit, tasks in flight per key, is not kept here: the database rows
are its source of truth (see ``services.claim_next_queued``), so a dead worker
can never leak a slot.
"""

from __future__ import annotations

import fcntl
import threading
import time
import uuid
from collections import defaultdict, deque
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from django.conf import settings

from config import outage

_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 500))
  return {0, now}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {math.max(1, tonumber(oldest[2]) + window - now), now}
"""


class RateLimited(Exception):
    """No token within the wait allowed; nothing was sent. ``retry_after``: the
    seconds until one may be free."""

    def __init__(self, message: str, *, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LimiterUnavailable(RateLimited):
    """The shared windows (Redis) cannot be read: no token, nothing was sent."""


def rate_for(kind: str) -> int:
    return settings.DASHSCOPE_SUBMIT_RPS if kind == "submit" else settings.DASHSCOPE_QUERY_RPS


# Requests admitted here reach the provider a little later and unevenly (network,
# scheduling), so a window 10% longer than the provider's second keeps arrivals
# within its limit too.
_MARGIN = 1.1


def window_seconds() -> float:
    """One provider second (shorter against a faster simulator), plus the margin."""
    return _MARGIN / settings.ANIMATIONS_TIME_SCALE


class Limiter(Protocol):
    def try_acquire(self, key_id: str, kind: str) -> float:
        """0 when a token was taken, else the seconds until one may be free."""

    def acquire(self, key_id: str, kind: str, *, max_wait: float = 0.0) -> None: ...


class _Base:
    def try_acquire(self, key_id: str, kind: str) -> float:
        raise NotImplementedError

    def acquire(self, key_id: str, kind: str, *, max_wait: float = 0.0) -> None:
        """Take a token, or raise ``RateLimited``. With ``max_wait`` 0 (every
        worker) this never sleeps; a positive one waits at most that long."""
        deadline = time.monotonic() + max_wait
        while True:
            wait = self.try_acquire(key_id, kind)
            if wait <= 0:
                return
            if time.monotonic() + wait > deadline:
                raise RateLimited(f"{kind} rate for key {key_id} is exhausted", retry_after=wait)
            time.sleep(wait)


class RedisLimiter(_Base):
    def __init__(self, client: object, *, prefix: str = "animations:rate") -> None:
        self.client = client
        self.prefix = prefix
        self.last_admitted = 0.0
        # client: a redis-py client (redis.Redis or django-redis's), typed loosely.
        self._script = client.register_script(_SCRIPT)  # type: ignore[attr-defined]

    def try_acquire(self, key_id: str, kind: str) -> float:
        breaker = outage.redis_breaker
        if not breaker.available():
            breaker.skipped("provider_limiter")
            raise LimiterUnavailable(
                "the provider rate limiter (Redis) is unreachable",
                retry_after=breaker.retry_after(),
            )
        try:
            wait_us, now_us = self._script(
                keys=[f"{self.prefix}:{key_id}:{kind}"],
                args=[max(1, int(window_seconds() * 1_000_000)), rate_for(kind), uuid.uuid4().hex],
            )
        except outage.REDIS_ERRORS as exc:
            breaker.failed("provider_limiter", exc)
            raise LimiterUnavailable(
                f"the provider rate limiter (Redis) is unreachable: {exc}",
                retry_after=breaker.retry_after(),
            ) from exc
        breaker.succeeded()
        if int(wait_us) == 0:
            # The Redis server's clock at admission: what the window is measured in.
            self.last_admitted = int(now_us) / 1_000_000
        return int(wait_us) / 1_000_000


class LocalLimiter(_Base):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def try_acquire(self, key_id: str, kind: str) -> float:
        now = time.monotonic()
        with self._lock:
            window = self._windows[(key_id, kind)]
            span = window_seconds()
            while window and now - window[0] >= span:
                window.popleft()
            if len(window) < rate_for(kind):
                window.append(now)
                return 0.0
            return max(1e-6, window[0] + span - now)


class FileLimiter(_Base):
    """The same window in a locked file: shared by the processes of one host (the
    embedded mode's web server and prefork worker children) without Redis."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def try_acquire(self, key_id: str, kind: str) -> float:
        span = window_seconds()
        with open(self.directory / f"{key_id}-{kind}", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.seek(0)
            now = time.time()
            stamps = [float(x) for x in fh.read().split() if now - float(x) < span]
            if len(stamps) >= rate_for(kind):
                return max(1e-6, stamps[0] + span - now)
            stamps.append(now)
            fh.seek(0)
            fh.truncate()
            fh.write(" ".join(f"{x:.6f}" for x in stamps))
            return 0.0


REDIS_CACHES = {"config.cache.RedisCache", "django_redis.cache.RedisCache"}


@lru_cache(maxsize=1)
def get_limiter() -> Limiter:
    """Redis when the cache is Redis (a deployment), else a locked file (embedded)."""
    if settings.CACHES["default"]["BACKEND"] in REDIS_CACHES:
        from django_redis import get_redis_connection

        return RedisLimiter(get_redis_connection("default"))
    return FileLimiter(Path(settings.VAR_DIR) / "dashscope-rate")
