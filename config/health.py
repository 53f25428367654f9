"""Liveness (``/healthz``) and readiness (``/readyz``) probes.

``/healthz`` only says the process answers. ``/readyz`` checks each dependency
and reports each one; it answers 503 when the primary database, Redis or the
broker is down. A replica that is down or lagging is reported but does not
make the instance unready: reads fall back to the primary.

Bounded in time, whatever hangs: each check runs on a connection of its own
whose every socket operation (connect, read, write) times out after
``CHECK_TIMEOUT`` seconds, and the checks run side by side, so a frozen
database or broker makes ``/readyz`` answer 503 (``"error": "timeout"``)
within ``DEADLINE`` seconds and never holds the web worker longer. A check
still running at the deadline finishes on its own thread within its socket
timeouts.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

# Seconds each socket operation of a check may take, and the whole probe.
CHECK_TIMEOUT = 2
DEADLINE = 3.0


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _failed(exc: BaseException) -> dict[str, Any]:
    return {"ok": False, "error": exc.__class__.__name__}


def _check_primary() -> dict[str, Any]:
    wrapper = connections["default"]
    try:
        if wrapper.vendor == "mysql":
            params = wrapper.get_connection_params()
            params.update(
                connect_timeout=CHECK_TIMEOUT,
                read_timeout=CHECK_TIMEOUT,
                write_timeout=CHECK_TIMEOUT,
            )
            raw = wrapper.get_new_connection(params)
            try:
                cursor = raw.cursor()
                cursor.execute("SELECT 1")
                cursor.fetchall()
            finally:
                raw.close()
        else:
            try:
                with wrapper.cursor() as cursor:
                    cursor.execute("SELECT 1")
            finally:
                wrapper.close()  # this thread's own connection
        return {"ok": True}
    except Exception as exc:  # any driver error means "not ready"
        return _failed(exc)


def _check_redis() -> dict[str, Any]:
    if not settings.REDIS_URL:
        return {"ok": True, "detail": "not configured (local-memory cache)"}
    try:
        import redis

        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
        )
        try:
            client.ping()
        finally:
            client.close()
        return {"ok": True}
    except Exception as exc:
        return _failed(exc)


def _check_broker() -> dict[str, Any]:
    from kombu import Connection

    options = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "socket_timeout": CHECK_TIMEOUT,
        "socket_connect_timeout": CHECK_TIMEOUT,
    }
    try:
        with Connection(
            settings.CELERY_BROKER_URL, transport_options=options, connect_timeout=CHECK_TIMEOUT
        ) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=CHECK_TIMEOUT)
            transport = conn.transport_cls
        return {"ok": True, "transport": transport}
    except Exception as exc:
        return _failed(exc)


def _check_replicas() -> dict[str, Any]:
    from config.db_router import replica_report

    return replica_report()


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "primary": _check_primary,
    "replicas": _check_replicas,
    "redis": _check_redis,
    "broker": _check_broker,
}


def _timed_out(name: str) -> dict[str, Any]:
    """What a check that did not answer by the deadline reports."""
    if name == "replicas":
        return {
            alias: {"ok": False, "skipped": True, "lag": None, "error": "timeout"}
            for alias in settings.DATABASE_REPLICAS
        }
    return {"ok": False, "error": "timeout"}


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readyz")
    try:
        futures = {name: pool.submit(check) for name, check in CHECKS.items()}
        wait(futures.values(), timeout=DEADLINE)
    finally:
        pool.shutdown(wait=False)
    checks = {
        name: future.result() if future.done() else _timed_out(name)
        for name, future in futures.items()
    }
    ready = checks["primary"]["ok"] and checks["redis"]["ok"] and checks["broker"]["ok"]
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )
