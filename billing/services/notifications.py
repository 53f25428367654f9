"""Provider notifications: verified, stored as received, then applied once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import metrics, stripe_gateway, wechat_gateway
from billing.errors import InvalidNotification
from billing.models import (
    EventStatus,
    OrderStatus,
    PaymentOrder,
    Provider,
    ProviderEvent,
    RefundStatus,
)
from billing.services.orders import (
    apply_stripe_session,
    apply_wechat_transaction,
    settle_unpaid,
)
from billing.services.refunds import (
    STRIPE_REFUND_STATUS,
    WECHAT_REFUND_STATUS,
    record_refund,
    settle_refund,
)


def record_event(
    *, provider: str, event_id: str, event_type: str, payload: dict, headers: dict[str, str]
) -> ProviderEvent:
    """Store a verified notification as received, before anything else happens,
    committed on its own; a redelivery finds the row already there."""
    try:
        with transaction.atomic():
            event, _created = ProviderEvent.objects.get_or_create(
                provider=provider,
                event_id=event_id,
                defaults={"event_type": event_type, "payload": payload, "headers": headers},
            )
    except IntegrityError:
        event = ProviderEvent.objects.get(provider=provider, event_id=event_id)
    return event


def process_event(event: ProviderEvent) -> ProviderEvent:
    """Apply a stored notification once.

    The event row is locked, so concurrent deliveries queue behind each other and
    the later ones find it processed. The handler runs in a savepoint: when it
    fails, everything it did is rolled back, the event keeps the error (and its
    payload) as ``failed`` for ``replay_events``, and the error is raised again so
    the caller answers the provider with a failure and it retries.
    """
    failure: Exception | None = None
    with transaction.atomic():
        event = ProviderEvent.objects.select_for_update().get(pk=event.pk)
        if event.status in {EventStatus.PROCESSED, EventStatus.IGNORED}:
            return event
        event.attempts += 1
        try:
            with transaction.atomic():
                handled = _HANDLERS[event.provider](event)
        except Exception as exc:
            failure = exc
            event.status = EventStatus.FAILED
            event.error = f"{exc.__class__.__name__}: {exc}"[:5000]
        else:
            event.status = EventStatus.PROCESSED if handled else EventStatus.IGNORED
            event.error = ""
            event.processed_at = timezone.now()
        event.save(update_fields=["status", "error", "attempts", "processed_at", "order"])
    if failure is not None:
        raise failure
    return event


def _stripe_order(obj: dict[str, Any]) -> PaymentOrder | None:
    order_id = (obj.get("metadata") or {}).get("order_id") or obj.get("client_reference_id")
    order = None
    if order_id:
        try:
            order = PaymentOrder.objects.filter(pk=order_id, provider=Provider.STRIPE).first()
        except (ValueError, ValidationError):
            order = None
    if order is None and obj.get("object") == "checkout.session" and obj.get("id"):
        order = PaymentOrder.objects.filter(provider_session_id=obj["id"]).first()
    if order is None and obj.get("payment_intent"):
        order = PaymentOrder.objects.filter(
            provider=Provider.STRIPE, provider_payment_id=obj["payment_intent"]
        ).first()
    return order


STRIPE_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "charge.refunded",
    "refund.updated",
    "refund.failed",
}
WECHAT_REFUND_EVENTS = {"REFUND.SUCCESS", "REFUND.CLOSED", "REFUND.ABNORMAL"}


def _handle_stripe(event: ProviderEvent) -> bool:
    obj = ((event.payload.get("data") or {}).get("object")) or {}
    kind = event.event_type
    if kind not in STRIPE_EVENTS:
        return False
    order = _stripe_order(obj)
    if order is None and not (obj.get("metadata") or {}).get("order_id"):
        # Another integration on the same Stripe account: not ours to settle.
        return False
    if order is None:
        raise InvalidNotification("No order matches this event.")
    event.order = order
    if (
        obj.get("object") == "checkout.session"
        and order.provider_session_id
        and obj.get("id") != order.provider_session_id
    ):
        raise InvalidNotification("The session is not the order's.")
    if kind == "charge.refunded":
        if str(obj.get("currency") or "").upper() != order.currency.upper():
            raise InvalidNotification("The refund's currency is not the order's.")
        # ``amount_refunded`` is cumulative: the refund is whatever is not recorded yet.
        refunded_total = int(obj.get("amount_refunded") or 0)
        record_refund(
            order,
            refunded_total=refunded_total,
            out_refund_no=f"{obj.get('id')}:{refunded_total}",
            status=RefundStatus.SUCCEEDED,
            reason=f"Refunded at Stripe ({event.event_id})",
        )
    elif kind in {"refund.updated", "refund.failed"}:
        known = order.refunds.filter(provider_refund_id=str(obj.get("id") or "")).first()
        status = STRIPE_REFUND_STATUS.get(str(obj.get("status") or ""))
        if known is None or status is None:
            return False
        settle_refund(known, status=status)
    elif kind in {"checkout.session.completed", "checkout.session.async_payment_succeeded"}:
        if obj.get("payment_status") != "paid":
            return False
        apply_stripe_session(order, obj, source=f"stripe {event.event_id}")
    elif kind == "checkout.session.async_payment_failed":
        settle_unpaid(order, status=OrderStatus.FAILED, reason="Async payment failed.")
    else:
        settle_unpaid(order, status=OrderStatus.CANCELED, reason="Session expired.")
    return True


def _handle_wechat(event: ProviderEvent) -> bool:
    resource = event.payload.get("resource") or {}
    paid = event.event_type == "TRANSACTION.SUCCESS" and resource.get("trade_state") == "SUCCESS"
    refund_status = WECHAT_REFUND_STATUS.get(str(resource.get("refund_status") or ""))
    refunded = event.event_type in WECHAT_REFUND_EVENTS and refund_status is not None
    if not (paid or refunded):
        return False
    out_trade_no = str(resource.get("out_trade_no") or "")
    try:
        order = PaymentOrder.objects.filter(
            pk=uuid.UUID(hex=out_trade_no), provider=Provider.WECHAT
        ).first()
    except ValueError:
        order = None
    if order is None:
        raise InvalidNotification("No order matches this notification.")
    event.order = order
    if paid:
        apply_wechat_transaction(order, resource, source=f"wechat {event.event_id}")
        return True
    amount = resource.get("amount") or {}
    if resource.get("mchid") != settings.WECHATPAY_MCHID or int(amount.get("total") or 0) != (
        order.amount
    ):
        raise InvalidNotification("The refund does not match the order.")
    assert refund_status is not None  # not paid, so refunded: a known status (above)
    # Each WeChat refund, partial or full, is reported on its own under its out_refund_no.
    record_refund(
        order,
        amount=int(amount.get("refund") or 0),
        out_refund_no=str(resource.get("out_refund_no") or ""),
        provider_refund_id=str(resource.get("refund_id") or ""),
        status=refund_status,
        reason=f"Refunded at WeChat Pay ({event.event_id})",
    )
    return True


_HANDLERS: dict[str, Callable[[ProviderEvent], bool]] = {
    Provider.STRIPE: _handle_stripe,
    Provider.WECHAT: _handle_wechat,
}


def _counted_delivery(
    provider: str, verify: Callable[[], dict[str, Any]], store: Callable[[dict], ProviderEvent]
) -> ProviderEvent:
    """Verify, store, process once, and count the delivery by what became of it
    (``billing_webhooks_total``): ``rejected`` (forged, stale or unreadable:
    nothing stored), ``failed`` (stored, but processing failed: the provider
    retries, ``replay_events`` can too), else the event's status (``processed``,
    or ``ignored`` for one about no order of ours)."""
    outcome = "rejected"
    try:
        data = verify()
        outcome = "failed"
        event = process_event(store(data))
        outcome = event.status
        return event
    finally:
        metrics.WEBHOOKS.labels(provider=provider, outcome=outcome).inc()


def receive_stripe_event(payload: bytes, signature: str | None) -> ProviderEvent:
    """Verify, store raw, then process once (see ``process_event``)."""
    return _counted_delivery(
        Provider.STRIPE,
        lambda: stripe_gateway.verify_event(payload, signature),
        lambda data: record_event(
            provider=Provider.STRIPE,
            event_id=str(data["id"]),
            event_type=str(data["type"]),
            payload=data,
            headers={"Stripe-Signature": signature or ""},
        ),
    )


def receive_wechat_notification(headers: dict[str, str], body: bytes) -> ProviderEvent:
    """Verify (signature, replay window), decrypt, store, then process once."""
    kept = {k: v for k, v in headers.items() if k.lower().startswith("wechatpay-")}
    return _counted_delivery(
        Provider.WECHAT,
        lambda: wechat_gateway.verify_notification(headers, body),
        lambda data: record_event(
            provider=Provider.WECHAT,
            event_id=str(data["id"]),
            event_type=str(data.get("event_type") or ""),
            payload=data,
            headers=kept,
        ),
    )


def replay_events(
    *, failed_only: bool = True, ids: list[int] | None = None, dry_run: bool = False
) -> dict[int, str]:
    """Process stored events again (failed ones by default, or the given ids);
    processed ones are skipped by ``process_event`` itself. ``id -> status``."""
    events = ProviderEvent.objects.order_by("received_at")
    if ids:
        events = events.filter(pk__in=ids)
    if failed_only:
        events = events.filter(status__in=[EventStatus.FAILED, EventStatus.RECEIVED])
    results: dict[int, str] = {}
    for event in events:
        if dry_run:
            results[event.pk] = event.status
            continue
        try:
            results[event.pk] = process_event(event).status
        except Exception as exc:
            results[event.pk] = f"failed: {exc}"
    return results
