"""Celery entry points: thin, idempotent, safe to retry."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from billing import services


# Explicit names, the ones these tasks always had: queued messages and the beat
# schedule name them, so moving a function must not rename its task.
@shared_task(name="billing.tasks.expire_pending_orders", ignore_result=True)
def expire_pending_orders() -> int:
    """Beat, every few minutes: close expired pending orders at their provider."""
    return services.expire_pending_orders()


@shared_task(name="billing.tasks.reconcile_pending_orders", ignore_result=True)
def reconcile_pending_orders() -> dict[str, str]:
    """Beat, every few minutes: settle pending orders and refunds older than
    ``PAYMENT_RECONCILE_AFTER_MINUTES`` whose notification never came, by asking
    the provider."""
    minutes = settings.PAYMENT_RECONCILE_AFTER_MINUTES
    return {
        **services.reconcile_pending(older_than_minutes=minutes),
        **services.reconcile_refunds(older_than_minutes=minutes),
    }
