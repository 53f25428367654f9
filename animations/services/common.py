"""What every step of a job shares: the provider's clock and clients, the price,
the lease and row lock a step claims a task with, and the provider answers kept
on the task."""

from __future__ import annotations

import math
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, connections
from django.utils import timezone

from animations.dashscope import DashScopeClient, ProviderError
from animations.models import AnimationTask
from config import outage

logger = structlog.get_logger(__name__)

# Provider seconds to wait after a provider or storage error before the next try.
ERROR_BACKOFF = 10.0
# Provider answers (and request ids) kept on a task for support.
RAW_KEEP = 20


def provider_delta(seconds: float) -> timedelta:
    """Provider time to wall time (the simulator may run faster)."""
    return timedelta(seconds=seconds / settings.ANIMATIONS_TIME_SCALE)


def price(model: str, mode: str, seconds: float) -> int:
    """Credits for ``seconds`` of video: a per-model, per-mode rate, rounded up."""
    rate = settings.ANIMATIONS_CREDITS_PER_SECOND[model][mode]
    return max(1, math.ceil(round(seconds * rate, 6)))


_clients: dict[tuple[str, str], DashScopeClient] = {}


def client_for(region: str) -> DashScopeClient:
    """The region's DashScope client (its own key and base URL), one per process so
    its connections are reused."""
    key = (settings.DASHSCOPE_BASE_URLS[region], settings.DASHSCOPE_API_KEYS[region])
    if key not in _clients:
        _clients[key] = DashScopeClient(base_url=key[0], api_key=key[1])
    return _clients[key]


def keep_raw(task: AnimationTask, kind: str, body: dict[str, Any]) -> None:
    """Keep the provider's answer (and its request id) on the task, the last ``RAW_KEEP``."""
    task.provider_responses = [
        *task.provider_responses[-(RAW_KEEP - 1) :],
        {"at": timezone.now().isoformat(), "kind": kind, "body": body},
    ]
    request_id = body.get("request_id")
    if request_id:
        task.provider_request_ids = [*task.provider_request_ids[-(RAW_KEEP - 1) :], request_id]


def error_body(error: ProviderError) -> dict[str, Any]:
    """The provider's error as it answered, or as we classified it when it said nothing."""
    return error.body or {"code": error.code, "message": error.message, "status": error.status}


def lease() -> tuple[str, datetime]:
    """A fresh lease token and its expiry: the worker holding it owns the task's next step."""
    return uuid.uuid4().hex, timezone.now() + timedelta(seconds=settings.ANIMATIONS_LEASE_SECONDS)


class Heartbeat:
    """Renews a task's lease while its owner is busy with slow I/O (a provider
    call, a result copy), so leases can be short: a worker that dies, or freezes,
    stops renewing and its task (and with it the key's one create slot) is taken
    over ``ANIMATIONS_LEASE_SECONDS`` later, not after the longest call could last.

    A thread of its own, on a database connection of its own, renews every third
    of the lease with a conditional ``UPDATE ... WHERE lease_owner = token``; once
    that finds no row (the owner's last step released it, or another worker took
    it over after this one stalled), it stops. Nothing
    here sleeps the worker: the thread waits on an event the owner sets when done.
    A claim made inside a transaction (never in the dispatcher; tests that hold
    one) is invisible to other connections, so nothing is renewed for it."""

    def __init__(self, task_pk: Any, token: str) -> None:
        self.task_pk = task_pk
        self.token = token
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if not connection.in_atomic_block:
            self._thread = threading.Thread(
                target=self._run, name=f"lease-heartbeat-{self.task_pk}", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=settings.ANIMATIONS_LEASE_SECONDS / 3)

    def _run(self) -> None:
        interval = settings.ANIMATIONS_LEASE_SECONDS / 3
        try:
            while not self._done.wait(interval):
                try:
                    renewed = AnimationTask.objects.filter(
                        pk=self.task_pk, lease_owner=self.token
                    ).update(
                        lease_until=timezone.now()
                        + timedelta(seconds=settings.ANIMATIONS_LEASE_SECONDS)
                    )
                except DatabaseError as exc:  # try again at the next beat
                    logger.warning(
                        "animation_lease_renewal_failed", task_id=str(self.task_pk), error=str(exc)
                    )
                    continue
                if not renewed:
                    if not self._done.is_set():
                        logger.info("animation_lease_not_renewed", task_id=str(self.task_pk))
                    return
        finally:
            connections.close_all()


def locked(task: AnimationTask) -> AnimationTask:
    """The task's row, locked for the rest of the transaction."""
    return AnimationTask.objects.select_for_update().get(pk=task.pk)


# Set for one beat interval after a kick sent a dispatcher run.
KICK_KEY = "animations:dispatch_kicked"


def kick() -> None:
    """Run the dispatcher soon. The task is already committed and the beat runs
    the dispatcher anyway, so a broker that is down (or frozen) costs the request
    one bounded try, and then nothing while ``config.outage`` leaves it alone.

    At most one kicked run per beat interval (``KICK_KEY`` lives that long): the
    first job of a quiet platform starts at once, and a burst of creates costs
    one extra run a second, not one each. A task committed while the key lives
    waits for the next run, kicked or beat, at most one interval, as any task
    waits for its next step. (A key cleared by every run let a steady stream of
    creates keep both workers busy with back-to-back runs.)"""
    from animations import tasks

    if not cache.add(KICK_KEY, 1, timeout=settings.ANIMATIONS_DISPATCH_INTERVAL):
        return
    outage.enqueue(tasks.dispatch, use="dispatch_kick")
