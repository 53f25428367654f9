"""What this process does while Redis or the Celery broker cannot be reached.

Each use decides what an outage means (the "Failure modes" table of
``docs/architecture.md``): the cache carries on in local memory (throttles and
rate limits count per process: they fail open), the router's pin lookup reads
the primary, the provider limiter fails closed (nothing is sent to DashScope,
a person waiting gets 503), a best-effort enqueue is skipped (the beat or a
sweep does the work later). This module is what they share:

- A ``Breaker`` per dependency. The first failure opens it for
  ``RETRY_AFTER`` seconds, during which every use skips the dependency at once
  and takes its outage path: a frozen server would otherwise cost each call its
  socket timeout. The first call after that tries again; a success closes it.
- An outage is logged once when it begins (``redis_unavailable`` /
  ``broker_unavailable``, with the error) and once when it ends
  (``redis_available`` / ``broker_available``, with how long it lasted), per
  process, not once per request.
- Every call that took its outage path is counted in
  ``animate_dependency_unavailable_total{dependency, use}``.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import redis
import structlog
from prometheus_client import Counter

logger = structlog.get_logger(__name__)

# Seconds a dependency is left alone after it failed, before it is tried again.
RETRY_AFTER = 5.0

UNAVAILABLE = Counter(
    "animate_dependency_unavailable_total",
    "Calls that found Redis or the broker unreachable (or skipped it while it was) and "
    "took their outage path, by dependency and use.",
    ["dependency", "use"],
)


def _redis_errors() -> tuple[type[BaseException], ...]:
    from django_redis.exceptions import ConnectionInterrupted

    return (
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
        ConnectionInterrupted,
        socket.timeout,
        ConnectionError,
    )


# What "Redis cannot be reached" looks like, raised by redis-py or django-redis
# (a refused or reset connection, a read that timed out on a frozen server).
REDIS_ERRORS: tuple[type[BaseException], ...] = _redis_errors()


def broker_errors() -> tuple[type[BaseException], ...]:
    """What a publish raises when the broker cannot be reached."""
    from kombu.exceptions import OperationalError

    return (OperationalError, *REDIS_ERRORS, OSError)


class Breaker:
    """Whether a dependency is worth trying now, in this process."""

    def __init__(self, dependency: str, *, retry_after: float = RETRY_AFTER) -> None:
        self.dependency = dependency
        self.retry_after_seconds = retry_after
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._retry_at = 0.0

    def available(self) -> bool:
        """False while the dependency is left alone after a failure."""
        return self._down_since is None or time.monotonic() >= self._retry_at

    def retry_after(self) -> float:
        """Seconds until the dependency is tried again (at least 1, for Retry-After)."""
        return max(1.0, self._retry_at - time.monotonic())

    def failed(self, use: str, error: BaseException) -> None:
        """A call to the dependency failed: leave it alone for a while."""
        UNAVAILABLE.labels(self.dependency, use).inc()
        with self._lock:
            began = self._down_since is None
            if began:
                self._down_since = time.monotonic()
            self._retry_at = time.monotonic() + self.retry_after_seconds
        if began:
            logger.error(
                f"{self.dependency}_unavailable",
                use=use,
                error=f"{error.__class__.__name__}: {error}",
                retry_after=self.retry_after_seconds,
            )

    def skipped(self, use: str) -> None:
        """A call took its outage path without trying (the breaker is open)."""
        UNAVAILABLE.labels(self.dependency, use).inc()

    def succeeded(self) -> None:
        """A call went through: the outage, if there was one, is over."""
        if self._down_since is None:
            return
        with self._lock:
            since, self._down_since = self._down_since, None
        if since is not None:
            logger.warning(
                f"{self.dependency}_available", down_seconds=round(time.monotonic() - since, 1)
            )

    def reset(self) -> None:
        """Forget any outage (tests)."""
        with self._lock:
            self._down_since = None
            self._retry_at = 0.0


redis_breaker = Breaker("redis")
broker_breaker = Breaker("broker")


def enqueue(task: Any, *args: Any, use: str) -> bool:
    """Send a Celery task whose work something else also does later (the beat's
    dispatcher, the hourly purge sweep): a broker that cannot be reached costs one
    bounded try, then ``RETRY_AFTER`` seconds of skipping, never an error for the
    caller. True when it was sent (or ran, eagerly)."""
    name = getattr(task, "name", str(task))
    if task.app.conf.task_always_eager:  # no broker: the task runs here and now
        try:
            task.apply_async(args=args)
        except Exception as exc:
            logger.warning("task_enqueue_failed", task=name, error=str(exc))
            return False
        return True
    if not broker_breaker.available():
        broker_breaker.skipped(use)
        return False
    try:
        task.apply_async(args=args, retry=False)
    except broker_errors() as exc:
        broker_breaker.failed(use, exc)
        return False
    except Exception as exc:
        logger.warning("task_enqueue_failed", task=name, error=str(exc))
        return False
    broker_breaker.succeeded()
    return True
