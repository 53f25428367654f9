"""Celery entry points of accounts: thin, idempotent, safe to retry."""

from __future__ import annotations

from celery import shared_task
from django.core.management import call_command


@shared_task(name="accounts.flush_expired_tokens", ignore_result=True)
def flush_expired_tokens() -> None:
    """Daily (beat): simplejwt's own ``flushexpiredtokens``, which deletes the
    refresh-token records past their expiry and their blacklist rows.

    An expired token is refused for its expiry alone, so its record proves
    nothing any more; without this sweep the tables grow with every sign-in.
    """
    call_command("flushexpiredtokens")
