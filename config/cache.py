"""The shared cache (Redis), degrading to local memory while Redis is unreachable.

Everything that uses the cache today tolerates a miss: DRF's throttles,
allauth's rate limits (failed sign-ins, mail cooldowns), the run-time history of
``animations.services.estimate``, Google's certificates, the router's user
pins. So an outage must not turn into a 500 on every signed-in call: while
``config.outage.redis_breaker`` says Redis is down, this process reads and
writes a local-memory cache of its own instead. Throttles and rate limits then
count per process (they fail open against the shared limit, as the failure-modes
table says), cached values are recomputed, and nothing waits on a frozen server
for more than one socket timeout per ``outage.RETRY_AFTER`` seconds.

The router's pin and the provider limiter must know when Redis is down, not
read a miss: they look at the breaker (``config.db_router``,
``animations.limiter``). Redis-only commands (locks, ``ttl``, ``keys``...) are
not degraded; they raise as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django_redis.cache import RedisCache as _RedisCache

from config import outage


def _use(args: tuple[Any, ...]) -> str:
    """Which use a key belongs to, for the outage counter."""
    key = args[0] if args and isinstance(args[0], str) else ""
    if key.startswith("throttle_"):
        return "throttle"
    if key.startswith("allauth:rl:"):
        return "rate_limit"
    if key.startswith("dbpin:"):
        return "db_pin"
    return "cache"


def _degrading(name: str) -> Callable[..., Any]:
    def method(self: RedisCache, *args: Any, **kwargs: Any) -> Any:
        breaker = outage.redis_breaker
        if breaker.available():
            try:
                result = getattr(_RedisCache, name)(self, *args, **kwargs)
            except outage.REDIS_ERRORS as exc:
                breaker.failed(_use(args), exc)
            else:
                breaker.succeeded()
                return result
        else:
            breaker.skipped(_use(args))
        kwargs.pop("client", None)
        return getattr(self.local, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``{name}`` on Redis, or on this process's memory while Redis is down."
    return method


class RedisCache(_RedisCache):
    """django-redis's cache; while Redis is down, a local-memory one per process."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self.local = LocMemCache(
            f"redis-outage-{id(self)}",
            {
                "TIMEOUT": params.get("TIMEOUT", 300),
                "KEY_PREFIX": params.get("KEY_PREFIX", ""),
                "OPTIONS": {"MAX_ENTRIES": 10_000},
            },
        )

    add = _degrading("add")
    get = _degrading("get")
    set = _degrading("set")
    touch = _degrading("touch")
    delete = _degrading("delete")
    get_many = _degrading("get_many")
    set_many = _degrading("set_many")
    delete_many = _degrading("delete_many")
    has_key = _degrading("has_key")
    incr = _degrading("incr")
    decr = _degrading("decr")
    clear = _degrading("clear")
