"""The provider rate limiter shared by every worker.

DashScope allows, per API key, 5 create-task and 20 query requests per second.
All workers take a token here before each call: a sliding one-second window in
Redis (one Lua script, so check-and-add is atomic and uses the Redis server's
clock, not each worker's). Without Redis (the embedded default, one worker
process) an in-process window does the same job.

The third limit, tasks in flight per key, is not kept here: the database rows
are its source of truth (see ``services.claim_next_queued``), so a dead worker
can never leak a slot.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict, deque
from functools import lru_cache
from typing import Protocol

from django.conf import settings

_WINDOW_MS = 1000

_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window * 2)
  return {0, now}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {math.max(1, tonumber(oldest[2]) + window - now), now}
"""


class RateLimited(Exception):
    """No token within the wait allowed; nothing was sent."""


def rate_for(kind: str) -> int:
    per_second = settings.DASHSCOPE_SUBMIT_RPS if kind == "submit" else settings.DASHSCOPE_QUERY_RPS
    return max(1, int(per_second * settings.ANIMATIONS_TIME_SCALE))


class Limiter(Protocol):
    def try_acquire(self, key_id: str, kind: str) -> float:
        """0 when a token was taken, else the seconds until one may be free."""

    def acquire(self, key_id: str, kind: str, *, max_wait: float = 10.0) -> None: ...


class _Base:
    def try_acquire(self, key_id: str, kind: str) -> float:
        raise NotImplementedError

    def acquire(self, key_id: str, kind: str, *, max_wait: float = 10.0) -> None:
        deadline = time.monotonic() + max_wait
        while True:
            wait = self.try_acquire(key_id, kind)
            if wait <= 0:
                return
            if time.monotonic() + wait > deadline:
                raise RateLimited(f"{kind} rate for key {key_id} is exhausted")
            time.sleep(wait)


class RedisLimiter(_Base):
    def __init__(self, client: object, *, prefix: str = "animations:rate") -> None:
        self.client = client
        self.prefix = prefix
        self.last_admitted_ms = 0
        self._script = client.register_script(_SCRIPT)  # type: ignore[attr-defined]

    def try_acquire(self, key_id: str, kind: str) -> float:
        wait_ms, now_ms = self._script(
            keys=[f"{self.prefix}:{key_id}:{kind}"],
            args=[_WINDOW_MS, rate_for(kind), uuid.uuid4().hex],
        )
        if int(wait_ms) == 0:
            # The Redis server's clock at admission: what the window is measured in.
            self.last_admitted_ms = int(now_ms)
        return int(wait_ms) / 1000.0


class LocalLimiter(_Base):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def try_acquire(self, key_id: str, kind: str) -> float:
        now = time.monotonic()
        with self._lock:
            window = self._windows[(key_id, kind)]
            while window and now - window[0] >= _WINDOW_MS / 1000:
                window.popleft()
            if len(window) < rate_for(kind):
                window.append(now)
                return 0.0
            return max(0.001, window[0] + _WINDOW_MS / 1000 - now)


@lru_cache(maxsize=1)
def get_limiter() -> Limiter:
    """Redis when the cache is Redis (a deployment), else in-process (embedded)."""
    if "django_redis" in settings.CACHES["default"]["BACKEND"]:
        from django_redis import get_redis_connection

        return RedisLimiter(get_redis_connection("default"))
    return LocalLimiter()
