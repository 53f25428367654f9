"""structlog wiring: JSON lines in production, a readable console in development.

Every record carries the request id bound by ``config.middleware.RequestIdMiddleware``
(and django-structlog). Secrets never reach a log line: ``redact`` masks the
values of sensitive keys wherever they appear in an event.
"""

from __future__ import annotations

from typing import Any

import structlog

SENSITIVE_KEYS = frozenset(
    {
        "password",
        "new_password",
        "old_password",
        "token",
        "access",
        "refresh",
        "id_token",
        "access_token",
        "refresh_token",
        "code",
        "authorization",
        "secret",
        "api_key",
        "card",
        "card_number",
        "cvc",
        "signature",
    }
)


def is_sensitive(key: Any, value: Any) -> bool:
    """The rule for logs and for Sentry events alike: is this key's value a secret?"""
    name = str(key).lower().replace("-", "_")
    if name == "code":
        # An OAuth code is a credential; an HTTP status (django-structlog's
        # request_finished "code") is not.
        return not isinstance(value, int)
    return name in SENSITIVE_KEYS


def scrub(value: Any) -> Any:
    """``value`` with the values of sensitive keys masked, at any depth of dicts and lists."""
    if isinstance(value, dict):
        return {k: "***" if is_sensitive(k, v) else scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def redact(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: mask the values of sensitive keys (``scrub``)."""
    return scrub(event)


def configure_logging(fmt: str, level: str) -> dict[str, Any]:
    """Configure structlog and return Django's LOGGING dict."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    renderer = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    renderer,
                ],
                "foreign_pre_chain": shared,
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Replace Django's own console handlers (plain text, DEBUG only) so
            # every line has one format.
            "django": {"handlers": ["console"], "level": level, "propagate": False},
            "django.server": {"handlers": ["console"], "level": level, "propagate": False},
            "django.db.backends": {"level": "WARNING"},
            "django_structlog": {"level": level},
        },
    }
