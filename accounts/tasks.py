"""Celery entry points of accounts: thin, idempotent, safe to retry."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken


@shared_task(name="accounts.flush_expired_tokens")
def flush_expired_tokens() -> int:
    """Delete refresh-token records (and their blacklist rows) past their expiry.

    An expired token is refused for its expiry alone, so its record proves
    nothing any more; without this sweep the tables grow with every sign-in.
    """
    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
