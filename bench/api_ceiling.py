"""The bare-Django ceiling for ``bench/api_bench.py``: the hot reads with nothing
but the rules' minimum. Not part of the project; the bench serves it with
``DJANGO_SETTINGS_MODULE=bench.api_ceiling_settings`` (production settings, this
URLconf in front of the project's) under gunicorn, exactly as the project is served.

Each view verifies the same JWT (signature, expiry, type, then the user's
``is_active``/``erased_at``/``token_generation`` read from the primary), checks
ownership, and reads everything in ONE joined SQL query; bodies are built with
plain dicts and ``json.dumps``, with the same signed URLs. No DRF, no throttle,
no ORM.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import jwt
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.utils import timezone

from storage import signing

_FILE = ("id", "kind", "content_type", "size", "width", "height", "duration", "created_at")
_FILE_SQL = ", ".join(f"{{a}}.{c}" for c in (*_FILE, "deleted_at"))
_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "video/mp4": "mp4"}
_TASK = (
    "id",
    "type",
    "model",
    "mode",
    "status",
    "attempts",
    "created_at",
    "started_at",
    "provider_end_time",
    "finished_at",
    "credits_reserved",
    "credits_charged",
    "credits_released",
    "error_code",
    "error_message",
)
_TASK_SQL = ", ".join(f"t.{c}" for c in _TASK)
_JOINED = (
    f"{_TASK_SQL}, {_FILE_SQL.format(a='i')}, {_FILE_SQL.format(a='v')}, {_FILE_SQL.format(a='r')}"
)
_FROM = (
    "FROM animations_animationtask t "
    "LEFT JOIN storage_file i ON i.id = t.image_id "
    "LEFT JOIN storage_file v ON v.id = t.video_id "
    "LEFT JOIN storage_file r ON r.id = t.result_id "
)


def _claims(request: HttpRequest) -> dict[str, Any] | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Bearer "):
        return None
    jwt_settings = settings.SIMPLE_JWT
    try:
        claims = jwt.decode(
            header[7:], jwt_settings["SIGNING_KEY"], algorithms=[jwt_settings["ALGORITHM"]]
        )
    except jwt.PyJWTError:
        return None
    return claims if claims.get("token_type") == "access" else None


def _user_ok(claims: dict[str, Any], active: Any, erased_at: Any, generation: Any) -> bool:
    return bool(active) and erased_at is None and claims.get("gen") == generation


def _denied() -> HttpResponse:
    return HttpResponse(
        b'{"code":"not_authenticated"}', status=401, content_type="application/json"
    )


def _json(body: Any) -> HttpResponse:
    return HttpResponse(json.dumps(body, separators=(",", ":")), content_type="application/json")


def _moment(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _file(row: tuple[Any, ...]) -> dict[str, Any] | None:
    if row[0] is None:
        return None
    file_id = str(row[0])
    url = signing.local_url(
        file_id, _EXT.get(row[2], "bin"), expires_in=settings.STORAGE_SIGNED_URL_SECONDS
    )
    return {
        "id": file_id,
        "kind": row[1],
        "content_type": row[2],
        "size": row[3],
        "width": row[4],
        "height": row[5],
        "duration": row[6],
        "url": url,
        "created_at": _moment(row[7]),
    }


def _task(row: tuple[Any, ...]) -> dict[str, Any]:
    t = dict(zip(_TASK, row[: len(_TASK)], strict=True))
    n = len(_TASK)
    width = len(_FILE) + 1
    image, video, result = (row[n + k * width : n + (k + 1) * width] for k in range(3))
    status = "queued" if t["status"] == "submitting" else t["status"]
    body_result = None
    if status == "succeeded" and result[0] is not None and result[-1] is None:
        seconds = settings.STORAGE_SIGNED_URL_SECONDS
        url = signing.local_url(str(result[0]), "mp4", expires_in=seconds)
        body_result = {
            "url": url,
            "duration": result[6],
            "width": result[4],
            "height": result[5],
            "expires_at": (timezone.now() + timedelta(seconds=seconds)).isoformat(),
        }
    final = status in ("succeeded", "failed", "canceled")
    return {
        "id": str(t["id"]),
        "type": t["type"],
        "model": t["model"],
        "mode": t["mode"],
        "status": status,
        "image": _file(image),
        "video": _file(video),
        "result": body_result,
        "credits": {
            "reserved": t["credits_reserved"],
            "charged": t["credits_charged"],
            "refunded": t["credits_released"],
        },
        "error": {"code": t["error_code"], "message": t["error_message"]}
        if t["error_code"]
        else None,
        "attempts": t["attempts"],
        "created_at": _moment(t["created_at"]),
        "started_at": _moment(t["started_at"]),
        "finished_at": _moment(t["provider_end_time"] or t["finished_at"]) if final else None,
        "estimated_finish_at": None,
    }


def task_detail(request: HttpRequest, task_id: Any) -> HttpResponse:
    claims = _claims(request)
    if claims is None:
        return _denied()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT u.is_active, u.erased_at, u.token_generation, {_JOINED} {_FROM}"
            "JOIN accounts_user u ON u.id = t.user_id WHERE t.id = %s AND t.user_id = %s",
            [task_id.hex, claims["user_id"].replace("-", "")],
        )
        row = cursor.fetchone()
    if row is None:
        return HttpResponse(b'{"code":"task_not_found"}', status=404)
    if not _user_ok(claims, *row[:3]):
        return _denied()
    return _json(_task(row[3:]))


def task_list(request: HttpRequest) -> HttpResponse:
    claims = _claims(request)
    if claims is None:
        return _denied()
    size = min(100, int(request.GET.get("page_size", 20)))
    page = int(request.GET.get("page", 1))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT u.is_active, u.erased_at, u.token_generation, COUNT(*) OVER (), {_JOINED} "
            f"{_FROM}JOIN accounts_user u ON u.id = t.user_id WHERE t.user_id = %s "
            "ORDER BY t.created_at DESC, t.id DESC LIMIT %s OFFSET %s",
            [claims["user_id"].replace("-", ""), size, (page - 1) * size],
        )
        rows = cursor.fetchall()
    if rows and not _user_ok(claims, *rows[0][:3]):
        return _denied()
    count = rows[0][3] if rows else 0
    base = request.build_absolute_uri(request.path)
    more = page * size < count
    return _json(
        {
            "count": count,
            "next": f"{base}?page={page + 1}&page_size={size}" if more else None,
            "previous": None if page == 1 else f"{base}?page={page - 1}&page_size={size}",
            "results": [_task(row[4:]) for row in rows],
        }
    )


def me(request: HttpRequest) -> HttpResponse:
    claims = _claims(request)
    if claims is None:
        return _denied()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.is_active, u.erased_at, u.token_generation, u.id, u.email, u.display_name,"
            " u.avatar_url, u.region, u.locale, u.date_joined,"
            " EXISTS(SELECT 1 FROM account_emailaddress e WHERE e.user_id = u.id"
            "  AND e.verified AND e.email = u.email),"
            " (SELECT GROUP_CONCAT(s.provider) FROM socialaccount_socialaccount s"
            "  WHERE s.user_id = u.id)"
            " FROM accounts_user u WHERE u.id = %s",
            [claims["user_id"].replace("-", "")],
        )
        row = cursor.fetchone()
    if row is None or not _user_ok(claims, *row[:3]):
        return _denied()
    providers = sorted({"wechat" if p == "weixin" else p for p in (row[11] or "").split(",") if p})
    return _json(
        {
            "id": str(row[3]),
            "email": row[4],
            "display_name": row[5],
            "avatar_url": row[6] or None,
            "region": row[7],
            "locale": row[8],
            "email_verified": bool(row[10]),
            "date_joined": _moment(row[9]),
            "providers": providers,
        }
    )


def credits(request: HttpRequest) -> HttpResponse:
    claims = _claims(request)
    if claims is None:
        return _denied()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.is_active, u.erased_at, u.token_generation, a.balance, a.reserved,"
            " e.id, e.kind, e.amount, e.reserved_delta, e.balance_after, e.ref, e.created_at"
            " FROM accounts_user u JOIN billing_creditaccount a ON a.user_id = u.id"
            " LEFT JOIN billing_ledgerentry e ON e.account_id = a.id"
            " WHERE u.id = %s ORDER BY e.id DESC LIMIT 20",
            [claims["user_id"].replace("-", "")],
        )
        rows = cursor.fetchall()
    if not rows or not _user_ok(claims, *rows[0][:3]):
        return _denied()
    balance, reserved = rows[0][3], rows[0][4]
    return _json(
        {
            "balance": balance,
            "reserved": reserved,
            "available": balance - reserved,
            "recent": [
                {
                    "id": r[5],
                    "kind": r[6],
                    "amount": r[7],
                    "reserved_delta": r[8],
                    "balance_after": r[9],
                    "ref": r[10],
                    "created_at": _moment(r[11]),
                }
                for r in rows
                if r[5] is not None
            ],
        }
    )


urlpatterns = [
    path("ceiling/tasks/<uuid:task_id>", task_detail),
    path("ceiling/tasks/user/tasks", task_list),
    path("ceiling/auth/me", me),
    path("ceiling/users/credits", credits),
    path("", include("config.urls")),
]
