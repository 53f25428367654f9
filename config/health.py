"""Liveness (``/healthz``) and readiness (``/readyz``) probes.

``/healthz`` only says the process answers. ``/readyz`` checks each dependency
and reports each one; it answers 503 when the primary database, Redis or the
broker is down. A replica that is down or lagging is reported but does not
make the instance unready: reads fall back to the primary.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_primary() -> dict[str, Any]:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # any driver error means "not ready"
        return {"ok": False, "error": exc.__class__.__name__}


def _check_redis() -> dict[str, Any]:
    if not settings.REDIS_URL:
        return {"ok": True, "detail": "not configured (local-memory cache)"}
    try:
        import redis

        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
        )
        client.ping()
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}


def _check_broker() -> dict[str, Any]:
    from config.celery import app

    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            transport = conn.transport_cls
        return {"ok": True, "transport": transport}
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}


def _check_replicas() -> dict[str, Any]:
    from config.db_router import replica_report

    return replica_report()


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {
        "primary": _check_primary(),
        "replicas": _check_replicas(),
        "redis": _check_redis(),
        "broker": _check_broker(),
    }
    ready = checks["primary"]["ok"] and checks["redis"]["ok"] and checks["broker"]["ok"]
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )
