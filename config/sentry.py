"""Sentry for unhandled errors in web requests and Celery tasks, on when ``SENTRY_DSN`` is set.

Events carry the environment and release they came from, and the request id
the logs carry (``X-Request-ID``; a task started by a request inherits its id
through django-structlog), so an event and its log lines are found together.
They are scrubbed by the rules of the logs (``config.logging.scrub``: the
values of sensitive keys masked at any depth, in request bodies, headers, stack
frame variables and breadcrumbs alike) on top of Sentry's own scrubber, and Sentry's
default data collection stays as it is (no cookies, client addresses or user details).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import sentry_sdk
import structlog
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

from config.logging import SENSITIVE_KEYS, scrub

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

# Keys named in the log rules that Sentry's scrubber may mask whatever their
# value; "code" is left to ``scrub``, which masks it only when it is not a status.
_DENYLIST = sorted({*DEFAULT_DENYLIST, *SENSITIVE_KEYS} - {"code"})


# django-structlog's own reports of the errors the Django and Celery integrations capture.
_DUPLICATES = frozenset({"request_failed", "task_failed"})
# Kept in our logs, not sent away: the client's address.
_LOCAL_ONLY = frozenset({"ip"})
_RECORD_KEYS = frozenset({"event", "level", "logger", "timestamp", "exception"})


def _log_fields(hint: dict[str, Any]) -> dict[str, Any] | None:
    """The event dict of a structlog line (its LogRecord's ``msg``), if the hint has one."""
    msg = getattr(hint.get("log_record"), "msg", None)
    return msg if isinstance(msg, dict) else None


def _readable(target: dict[str, Any], fields: dict[str, Any], *, message_key: str) -> None:
    """A structlog line reads as its event name, its fields as data (not one repr string)."""
    data = {k: v for k, v in fields.items() if k not in _RECORD_KEYS | _LOCAL_ONLY}
    if message_key == "logentry":
        target["logentry"] = {"message": str(fields.get("event", "")), "params": []}
        target.setdefault("extra", {})["log"] = data
    else:
        target["message"] = str(fields.get("event", ""))
        target["data"] = {**target.get("data", {}), **data}


def before_send(event: Event, hint: Hint) -> Event | None:
    # Sentry types the event as a TypedDict; the scrubbing walks it as the plain dict it is.
    raw = cast("dict[str, Any]", event)
    fields = _log_fields(hint)
    if fields is not None:
        if fields.get("event") in _DUPLICATES:
            return None
        _readable(raw, fields, message_key="logentry")
    scrubbed: dict[str, Any] = scrub(raw)
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id:
        scrubbed.setdefault("tags", {})["request_id"] = str(request_id)
    return cast("Event", scrubbed)


def before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    fields = _log_fields(hint)
    if fields is not None:
        _readable(crumb, fields, message_key="message")
    return scrub(crumb)


def init_sentry(
    *, dsn: str, environment: str, release: str, traces_sample_rate: float = 0.0
) -> Any:
    """Start reporting to ``dsn``; returns Sentry's guard (closing it stops reporting)."""
    return sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        traces_sample_rate=traces_sample_rate,
        event_scrubber=EventScrubber(denylist=_DENYLIST, recursive=True),
        before_send=before_send,
        before_send_transaction=before_send,
        before_breadcrumb=before_breadcrumb,
    )
