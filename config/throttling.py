"""DRF throttles that key anonymous clients by ``config.client_address.client_ip``.

DRF's ``BaseThrottle.get_ident`` believes ``X-Forwarded-For`` as the client
sent it while ``NUM_PROXIES`` is unset, so a spoofed header gave every request
a fresh counter. Every throttle of the platform (the defaults below, accounts'
per-address throttles, uploads, payments) derives from ``ClientAddressThrottle``
and so counts a client the way regions and allauth see it: ``TRUSTED_PROXIES``
decides which forwarded hops are believed.

Rates are read at request time (``DEFAULT_THROTTLE_RATES`` of the current
settings), not frozen into a class attribute at import.

On Redis a throttle costs one round trip: DRF's own read-modify-write of a
pickled list (two calls, and racy between workers) is the same sliding window
done by a Lua script on a sorted set of request times. While Redis is down
(``config.outage``) DRF's path runs on the cache, which then counts in this
process's memory (throttles fail open to a per-process count).
"""

from __future__ import annotations

import itertools
import os
from typing import Any, cast

from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from rest_framework import throttling
from rest_framework.settings import api_settings

from config import outage
from config.cache import RedisCache
from config.client_address import client_ip

# DRF's window: drop the times at or before now - duration; refuse at the limit,
# else add now. Returns {allowed, requests in the window, the oldest one's time}.
_WINDOW = """
local key, now, duration, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - duration)
local count = redis.call('ZCARD', key)
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2] or ARGV[1]
if count >= limit then return {0, count, oldest} end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, math.ceil(duration * 1000))
return {1, count + 1, oldest}
"""
# Members of the sorted set must differ even for requests in the same microsecond.
_members = itertools.count()
_scripts: dict[int, Any] = {}


def default_throttle_classes() -> list[type[throttling.BaseThrottle]]:
    """DEFAULT_THROTTLE_CLASSES as classes: api_settings imports the dotted paths
    of the settings (the DRF stubs type them as the strings)."""
    return cast("list[type[throttling.BaseThrottle]]", list(api_settings.DEFAULT_THROTTLE_CLASSES))


class ClientAddressThrottle(throttling.SimpleRateThrottle):
    """The base of every throttle: one client-address rule, rates read per request,
    one Redis call."""

    _window: tuple[int, float] | None = None
    # Set by DRF from the rate (its stubs leave them undeclared).
    num_requests: int
    duration: int

    def allow_request(self, request: Any, view: Any) -> bool:
        backend = caches["default"]  # DRF's self.cache is the proxy to it
        if self.rate is None or not isinstance(backend, RedisCache):
            return self._cache_window(request, view)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        if not outage.redis_breaker.available():
            return self._cache_window(request, view)  # the cache counts it as skipped
        self.now = self.timer()
        try:
            client = backend.client.get_client(write=True)
            script = _scripts.get(id(client))
            if script is None:
                script = _scripts[id(client)] = client.register_script(_WINDOW)
            allowed, count, oldest = script(
                keys=[backend.make_key(self.key)],
                args=[
                    repr(self.now),
                    self.duration,
                    self.num_requests,
                    f"{self.now!r}:{os.getpid()}:{next(_members)}",
                ],
            )
        except outage.REDIS_ERRORS as exc:
            outage.redis_breaker.failed("throttle", exc)
            return self._cache_window(request, view)
        outage.redis_breaker.succeeded()
        self._window = (int(count), float(oldest))
        return bool(allowed)

    def _cache_window(self, request: Any, view: Any) -> bool:
        """DRF's own window, on the cache (local memory while Redis is down)."""
        self._window = None
        return throttling.SimpleRateThrottle.allow_request(self, request, view)

    def wait(self) -> float | None:
        """DRF's advice: the rest of the window spread over the requests left."""
        if self._window is None:
            return super().wait()
        count, oldest = self._window
        remaining = self.duration - (self.now - oldest) if count else self.duration
        available = self.num_requests - count + 1
        if available <= 0:
            return None
        return remaining / float(available)

    def get_ident(self, request: Any) -> str:
        return client_ip(request) or "unknown"

    def get_rate(self) -> str | None:
        # The DRF stubs type the rates as numbers; they are "<count>/<period>" strings.
        rates = cast("dict[str, str | None]", api_settings.DEFAULT_THROTTLE_RATES)
        if self.scope is None or self.scope not in rates:
            raise ImproperlyConfigured(f"No throttle rate is set for {self.scope!r}.")
        return rates[self.scope]


class AnonRateThrottle(ClientAddressThrottle, throttling.AnonRateThrottle):
    """Anonymous requests per client address (``anon``)."""


class UserRateThrottle(ClientAddressThrottle, throttling.UserRateThrottle):
    """Requests per signed-in user, or per client address when anonymous (``user``)."""


class ScopedRateThrottle(ClientAddressThrottle, throttling.ScopedRateThrottle):
    """Requests per user or address for views naming a ``throttle_scope``."""

    def allow_request(self, request: Any, view: Any) -> bool:
        # DRF's scoped setup (the rate is known only once the view is), then our window.
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        num_requests, duration = self.parse_rate(self.rate)
        if num_requests is None or duration is None:
            return True  # no rate for the scope: DRF lets it through too
        self.num_requests, self.duration = num_requests, duration
        return super().allow_request(request, view)
