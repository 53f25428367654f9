"""Primary/replica database router with read-your-writes pinning.

The rules (``docs/architecture.md`` has the prose):

- Writes, ``select_for_update`` (Django routes it as a write), migrations, and
  every read inside a transaction on the primary go to the primary.
- A plain read goes to a healthy replica, picked at random among them.
- Read-your-writes: once the current request (or task, or thread) has written,
  its remaining reads go to the primary. ``PinningMiddleware`` also pins a
  request with an unsafe HTTP method from its start; after a request that
  wrote, the client's requests read the primary for ``DATABASE_PIN_SECONDS``,
  recognised by a signed cookie or, for signed-in API clients that keep no
  cookies, by a pin on their user id in the cache.
- ``use_primary()`` pins a block or a function explicitly.
- Celery tasks read the primary unless the task opts in with
  ``@shared_task(read_replicas=True)`` (see ``config/celery.py``).
- A replica that does not answer, is not replicating, or lags more than
  ``DATABASE_REPLICA_MAX_LAG`` seconds is skipped. The verdict is cached per
  process for ``DATABASE_REPLICA_CHECK_INTERVAL`` seconds, reported by
  ``replica_report()`` (``/readyz``) and exported as Prometheus gauges.

The pinning state lives in a context variable, not a thread-local: under ASGI
several requests share a thread, and each request (asyncio task) has its own
context. The state object is mutable so a write made in a ``sync_to_async``
call pins the request that made it.
"""

from __future__ import annotations

import contextlib
import contextvars
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.utils.connection import ConnectionDoesNotExist
from django.utils.functional import SimpleLazyObject, empty
from prometheus_client import Counter, Gauge

from config import outage

PIN_COOKIE = "dbpin"
_PIN_SALT = "config.db_router.pin"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

READS = Counter(
    "animate_db_reads_total",
    "Reads routed by the database router, by target and the reason for it.",
    ["target", "reason"],
)
# Under gunicorn's multiprocess metrics each worker has its own verdict: report
# the worst one among live workers.
REPLICA_HEALTHY = Gauge(
    "animate_db_replica_healthy",
    "1 when the replica takes reads, 0 when skipped.",
    ["alias"],
    multiprocess_mode="livemin",
)
REPLICA_LAG = Gauge(
    "animate_db_replica_lag_seconds",
    "Replication lag (Seconds_Behind_Master); -1 when unknown.",
    ["alias"],
    multiprocess_mode="livemax",
)


@dataclass
class PinState:
    """Where the reads of one request, task or thread may go."""

    wrote: bool = False
    pinned: bool = False  # by the client's cookie or user pin, or an unsafe method
    primary_only: bool = False  # a Celery task that did not opt in to replicas
    forced: int = 0  # depth of use_primary() blocks
    # The request being served, to look up its user's pin once it is known.
    request: HttpRequest | None = field(default=None, repr=False)
    user_checked: bool = False


_state: contextvars.ContextVar[PinState | None] = contextvars.ContextVar(
    "db_pin_state", default=None
)


def current_state() -> PinState:
    """The pinning state of the current context, created on first use."""
    state = _state.get()
    if state is None:
        state = PinState()
        _state.set(state)
    return state


def begin(state: PinState | None = None) -> contextvars.Token:
    """Start a fresh pinning scope (a request, a task); pass the token to ``end``."""
    return _state.set(state or PinState())


def end(token: contextvars.Token) -> None:
    _state.reset(token)


class use_primary(contextlib.ContextDecorator):
    """Send every read of the block (or decorated function) to the primary.

    For reads that must see the latest committed state, e.g. just before a
    write decided by them.
    """

    def __enter__(self) -> use_primary:
        current_state().forced += 1
        return self

    def __exit__(self, *exc: object) -> None:
        current_state().forced -= 1


def primary_reason(state: PinState) -> str | None:
    """Why the current context must read the primary, or None if a replica will do."""
    if state.forced:
        return "forced"
    if state.primary_only:
        return "task"
    if state.wrote:
        return "wrote"
    if state.pinned:
        return "pinned"
    if connections["default"].in_atomic_block:
        return "atomic"
    return None


def choose_read_alias(state: PinState, healthy: list[str]) -> tuple[str, str]:
    """Pick the alias for a plain read and say why: (alias, reason)."""
    reason = primary_reason(state)
    if reason is not None:
        return "default", reason
    if not healthy:
        return "default", "no_healthy_replica"
    return random.choice(healthy), "replica"


# Replica health
# ------------------------------------------------------------------------------


@dataclass
class ReplicaVerdict:
    alias: str
    healthy: bool
    lag: int | None = None
    error: str | None = None
    checked_at: float = field(default_factory=time.monotonic)

    def as_report(self) -> dict[str, Any]:
        return {
            "ok": self.healthy,
            "skipped": not self.healthy,
            "lag": self.lag,
            "error": self.error,
        }


def _status_value(row: dict[str, Any], *names: str) -> Any:
    # MariaDB says Slave_*/Seconds_Behind_Master, MySQL 8.0.22+ Replica_*/..._Source.
    for name in names:
        if name in row:
            return row[name]
    return None


def check_replica(alias: str) -> ReplicaVerdict:
    """Ask the replica itself, over a connection of its own, how it is doing."""
    try:
        wrapper = connections[alias]
    except ConnectionDoesNotExist:
        return ReplicaVerdict(alias, healthy=False, error="not configured")
    if wrapper.vendor != "mysql":
        return ReplicaVerdict(alias, healthy=True, lag=0)
    params = wrapper.get_connection_params()
    # Bounded reads too: a frozen replica answers nothing at all.
    for name in ("connect_timeout", "read_timeout", "write_timeout"):
        params[name] = min(int(params.get(name, 2)), 2)
    try:
        raw = wrapper.get_new_connection(params)
    except Exception as exc:  # any driver error: the replica is unreachable
        return ReplicaVerdict(alias, healthy=False, error=f"unreachable: {exc.__class__.__name__}")
    try:
        cursor = raw.cursor()
        try:
            cursor.execute("SHOW REPLICA STATUS")
        except Exception:
            cursor.execute("SHOW SLAVE STATUS")
        columns = [c[0] for c in cursor.description or ()]
        rows = cursor.fetchall()
    except Exception as exc:
        return ReplicaVerdict(
            alias, healthy=False, error=f"status failed: {exc.__class__.__name__}"
        )
    finally:
        with contextlib.suppress(Exception):
            raw.close()
    if not rows:
        return ReplicaVerdict(alias, healthy=False, error="not a replica")
    row = dict(zip(columns, rows[0], strict=False))
    io = _status_value(row, "Slave_IO_Running", "Replica_IO_Running")
    sql = _status_value(row, "Slave_SQL_Running", "Replica_SQL_Running")
    lag = _status_value(row, "Seconds_Behind_Master", "Seconds_Behind_Source")
    lag = int(lag) if lag is not None else None
    if io != "Yes" or sql != "Yes":
        return ReplicaVerdict(
            alias, healthy=False, lag=lag, error=f"replication stopped (io={io}, sql={sql})"
        )
    if lag is None or lag > settings.DATABASE_REPLICA_MAX_LAG:
        return ReplicaVerdict(alias, healthy=False, lag=lag, error="lagging")
    return ReplicaVerdict(alias, healthy=True, lag=lag)


class ReplicaHealth:
    """Per-process cache of replica verdicts, refreshed every check interval."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._checking: dict[str, threading.Lock] = {}
        self._verdicts: dict[str, ReplicaVerdict] = {}

    def _fresh(self, alias: str) -> ReplicaVerdict | None:
        cached = self._verdicts.get(alias)
        interval = settings.DATABASE_REPLICA_CHECK_INTERVAL
        if cached is not None and time.monotonic() - cached.checked_at < interval:
            return cached
        return None

    def verdict(self, alias: str) -> ReplicaVerdict:
        fresh = self._fresh(alias)
        if fresh is not None:
            return fresh
        with self._guard:
            checking = self._checking.setdefault(alias, threading.Lock())
        # One check per alias at a time. While it runs (up to the connect
        # timeout for a hung replica) other threads use the stale verdict
        # rather than queue behind it; only the very first check is waited for.
        stale = self._verdicts.get(alias)
        if not checking.acquire(blocking=stale is None):
            # Only a non-blocking acquire fails, and it is non-blocking when stale is set.
            return stale  # type: ignore[return-value]
        try:
            fresh = self._fresh(alias)
            if fresh is not None:
                return fresh
            verdict = check_replica(alias)
            self._verdicts[alias] = verdict
        finally:
            checking.release()
        REPLICA_HEALTHY.labels(alias).set(1 if verdict.healthy else 0)
        REPLICA_LAG.labels(alias).set(-1 if verdict.lag is None else verdict.lag)
        return verdict

    def healthy(self) -> list[str]:
        return [alias for alias in settings.DATABASE_REPLICAS if self.verdict(alias).healthy]

    def mark_down(self, alias: str, *, error: str) -> None:
        """Record a failure seen by a query; the next check may undo it."""
        self._verdicts[alias] = ReplicaVerdict(alias, healthy=False, error=error)
        REPLICA_HEALTHY.labels(alias).set(0)

    def forget(self) -> None:
        """Drop cached verdicts so the next read checks again."""
        with self._guard:
            self._verdicts.clear()


replica_health = ReplicaHealth()


def replica_report() -> dict[str, Any]:
    """Health of each configured replica, for /readyz."""
    return {
        alias: replica_health.verdict(alias).as_report() for alias in settings.DATABASE_REPLICAS
    }


# Router and middleware
# ------------------------------------------------------------------------------


def _user_pin_key(user_id: Any) -> str:
    return f"dbpin:user:{user_id}"


def _request_user_id(request: HttpRequest) -> Any:
    """The signed-in user's id if authentication has already run, without running it."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        # Django's lazy session user: evaluating it here would read the session.
        wrapped = user._wrapped  # type: ignore[attr-defined]  # LazyObject's own slot; the stubs leave it out
        user = None if wrapped is empty else wrapped
    if user is not None and getattr(user, "is_authenticated", False):
        return user.pk
    return None


def _check_user_pin(state: PinState) -> None:
    """Pin the request when its user wrote within the pin window.

    API clients authenticate with a Bearer token and often send no cookies, so
    the pin also lives in the cache under the user's id. The user is known only
    once DRF has authenticated the request, so this runs at the first read
    after that.
    """
    if state.pinned or state.user_checked or state.request is None:
        return
    user_id = _request_user_id(state.request)
    if user_id is None:
        return
    state.user_checked = True
    if not outage.redis_breaker.available():
        outage.redis_breaker.skipped("db_pin")
        state.pinned = True  # the pin cannot be read: the primary is always correct
        return
    try:
        found = cache.get(_user_pin_key(user_id)) is not None
    except Exception:  # a cache that raises is down too
        found = False
    # Our cache answers from local memory while Redis is down; a miss there says
    # nothing about a pin set in Redis, so the breaker has the last word.
    state.pinned = found or not outage.redis_breaker.available()


class PrimaryReplicaRouter:
    def db_for_read(self, model: type, **hints: Any) -> str:
        if not settings.DATABASE_REPLICAS:
            return "default"
        state = current_state()
        _check_user_pin(state)
        # The health check is skipped when the primary is required anyway.
        healthy = replica_health.healthy() if primary_reason(state) is None else []
        alias, reason = choose_read_alias(state, healthy)
        READS.labels("primary" if alias == "default" else "replica", reason).inc()
        return alias

    def db_for_write(self, model: type, **hints: Any) -> str:
        current_state().wrote = True
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # Replicas hold the primary's data, so objects from any alias may relate.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == "default"


class PinningMiddleware:
    """Gives each request its own pinning state and carries pins across requests.

    A request pins to the primary when it has an unsafe method, carries a
    valid pin cookie, or (once authenticated) its user has a pin in the cache.
    A request that wrote sets both, so the client's next requests within
    ``DATABASE_PIN_SECONDS`` read the primary too, with or without cookies.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        state = PinState(
            pinned=request.method in _UNSAFE_METHODS or self._has_pin(request), request=request
        )
        token = begin(state)
        try:
            response = self.get_response(request)
        finally:
            end(token)
        if state.wrote and settings.DATABASE_REPLICAS:
            seconds = settings.DATABASE_PIN_SECONDS
            user_id = _request_user_id(request)
            if user_id is not None:
                with contextlib.suppress(Exception):  # no cache: the cookie still pins
                    cache.set(_user_pin_key(user_id), 1, timeout=seconds)
            response.set_signed_cookie(
                PIN_COOKIE,
                "1",
                salt=_PIN_SALT,
                max_age=seconds,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response

    @staticmethod
    def _has_pin(request: HttpRequest) -> bool:
        value = request.get_signed_cookie(
            PIN_COOKIE, default=None, salt=_PIN_SALT, max_age=settings.DATABASE_PIN_SECONDS
        )
        return value is not None
