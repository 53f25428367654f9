"""Refunds of paid orders, one row per refund at the provider (full or partial):
credits taken back when a refund is recorded, given back if it fails."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing import metrics, stripe_gateway, wechat_gateway
from billing.errors import OrderNotRefundable, RefundBeforePayment
from billing.models import OrderStatus, PaymentOrder, PaymentRefund, Provider, RefundStatus
from billing.services.ledger import refund, reverse_refund
from config.errors import DomainError

if TYPE_CHECKING:
    from accounts.models import User

logger = structlog.get_logger(__name__)

STRIPE_REFUND_STATUS = {
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}
# ABNORMAL is not final at WeChat (support resolves it there): the refund stays pending.
WECHAT_REFUND_STATUS = {"SUCCESS": RefundStatus.SUCCEEDED, "CLOSED": RefundStatus.FAILED}


def record_refund(
    order: PaymentOrder,
    *,
    amount: int | None = None,
    refunded_total: int | None = None,
    out_refund_no: str,
    status: str,
    provider_refund_id: str = "",
    staff: User | None = None,
    reason: str = "",
) -> PaymentRefund | None:
    """Record a refund of a paid order once per ``out_refund_no`` (or provider refund
    id) and take back its share of the credits.

    The money is ``amount`` for this refund, or ``refunded_total`` for a provider
    that reports the order's cumulative refunds (Stripe's ``amount_refunded``), of
    which this refund is what is not recorded yet. Under the order's row lock: a
    known refund only moves its status (``settle_refund``); a new one is capped at
    what is left to refund (None when nothing is), and its credits are the order's
    credits in proportion to all the money refunded so far, rounded up, less what
    earlier refunds claimed; the ledger takes them as far as they are unspent. When
    the refunds cover the whole amount the order becomes ``refunded``. A refund of
    an order not paid yet is ``refund_before_payment``, so the provider sends its
    notice again once the payment's has come.
    """
    with transaction.atomic():
        locked = PaymentOrder.objects.select_for_update().get(pk=order.pk)
        known = _known(locked, out_refund_no, provider_refund_id)
        if known is not None:
            return _move(locked, known, status=status, provider_refund_id=provider_refund_id)
        if status == RefundStatus.FAILED:
            return None
        if locked.status not in {OrderStatus.PAID, OrderStatus.REFUNDED}:
            raise RefundBeforePayment()
        counted = _counted(locked)
        already = int(counted["amount"] or 0)
        if refunded_total is not None:
            amount = refunded_total - already
        amount = min(int(amount or 0), locked.amount - already)
        if amount <= 0:
            return None
        share = -(-locked.credits * (already + amount) // locked.amount)
        row = PaymentRefund.objects.create(
            order=locked,
            amount=amount,
            credits=max(0, share - int(counted["credits"] or 0)),
            status=status,
            out_refund_no=out_refund_no,
            provider_refund_id=provider_refund_id,
            staff=staff,
            reason=reason[:500],
            settled_at=None if status == RefundStatus.PENDING else timezone.now(),
        )
        _take(locked, row, key=f"refund:{row.pk}")
        _sync_order(locked)
    logger.info("refund recorded", order_id=str(order.pk), refund_id=str(row.pk), status=status)
    return row


def settle_refund(
    refund_row: PaymentRefund, *, status: str, provider_refund_id: str = ""
) -> PaymentRefund:
    """Apply the provider's word on a known refund: ``succeeded`` is final; ``failed``
    gives the credits it took back to the buyer (once) and the order is paid again
    as far as the refunds no longer cover it; a failed refund that succeeds after
    all takes them again."""
    with transaction.atomic():
        locked = PaymentOrder.objects.select_for_update().get(pk=refund_row.order_id)
        row = PaymentRefund.objects.get(pk=refund_row.pk)
        return _move(locked, row, status=status, provider_refund_id=provider_refund_id)


def refund_order(order: PaymentOrder, *, staff: User | None, reason: str) -> PaymentRefund:
    """Staff refund of what is left of a paid order.

    The refund is recorded (its credits taken) first and committed; the provider
    is asked outside any transaction under the refund's own key (so asking again
    refunds once); its answer settles the refund. When the provider refuses or
    cannot be reached the refund is failed and the credits go back; a refund that
    went through after all is taken again by its notification.
    """
    if order.status != OrderStatus.PAID:
        raise OrderNotRefundable()
    refund_id = uuid.uuid4()
    row = record_refund(
        order,
        amount=order.amount,
        out_refund_no=refund_id.hex,
        status=RefundStatus.PENDING,
        staff=staff,
        reason=reason,
    )
    if row is None:
        raise OrderNotRefundable()
    try:
        if order.provider == Provider.STRIPE:
            result = stripe_gateway.create_refund(
                payment_intent=order.provider_payment_id,
                amount=row.amount,
                key=row.out_refund_no,
                order_id=str(order.pk),
            )
            status = STRIPE_REFUND_STATUS.get(result.get("status", ""), RefundStatus.PENDING)
            provider_refund_id = str(result.get("id") or "")
        else:
            result = wechat_gateway.create_refund(
                out_trade_no=order.out_trade_no,
                out_refund_no=row.out_refund_no,
                refund_fen=row.amount,
                total_fen=order.amount,
            )
            status = WECHAT_REFUND_STATUS.get(result.get("status", ""), RefundStatus.PENDING)
            provider_refund_id = str(result.get("refund_id") or "")
    except DomainError:
        settle_refund(row, status=RefundStatus.FAILED)
        raise
    return settle_refund(row, status=status, provider_refund_id=provider_refund_id)


def reconcile_refunds(*, older_than_minutes: int) -> dict[str, str]:
    """Ask the provider about every refund still pending after N minutes and settle
    it from the answer, in case its notification was lost: ``refund id -> status``.
    A WeChat refund that WeChat never received failed (its credits go back); a
    refund whose request never got an answer from Stripe has no id to ask about and
    is left to support."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    results: dict[str, str] = {}
    pending = PaymentRefund.objects.filter(status=RefundStatus.PENDING, created_at__lt=cutoff)
    for row in pending.select_related("order").order_by("created_at"):
        try:
            if row.order.provider == Provider.STRIPE:
                if not row.provider_refund_id:
                    continue
                answer = stripe_gateway.retrieve_refund(row.provider_refund_id)
                status = STRIPE_REFUND_STATUS.get(answer.get("status", ""), RefundStatus.PENDING)
            else:
                found = wechat_gateway.query_refund(row.out_refund_no)
                status = (
                    RefundStatus.FAILED
                    if found is None
                    else WECHAT_REFUND_STATUS.get(found.get("status", ""), RefundStatus.PENDING)
                )
            results[str(row.pk)] = settle_refund(row, status=status).status
        except DomainError as exc:
            results[str(row.pk)] = f"error: {exc.internal_detail}"
    return results


def _known(
    order: PaymentOrder, out_refund_no: str, provider_refund_id: str
) -> PaymentRefund | None:
    rows = PaymentRefund.objects.filter(order=order)
    found = rows.filter(out_refund_no=out_refund_no).first()
    if found is None and provider_refund_id:
        found = rows.filter(provider_refund_id=provider_refund_id).first()
    return found


def _counted(order: PaymentOrder) -> dict[str, int | None]:
    return (
        PaymentRefund.objects.filter(order=order)
        .exclude(status=RefundStatus.FAILED)
        .aggregate(amount=Sum("amount"), credits=Sum("credits"))
    )


def _take(order: PaymentOrder, row: PaymentRefund, *, key: str) -> None:
    if row.credits <= 0:
        return
    entry = refund(
        order.user,
        row.credits,
        ref=f"payment_order:{order.pk}",
        key=key,
        order=order,
        reason=row.reason or f"Refunded {row.amount} {order.currency}",
    )
    row.credits_taken = -entry.amount
    row.save(update_fields=["credits_taken"])


def _move(
    order: PaymentOrder, row: PaymentRefund, *, status: str, provider_refund_id: str
) -> PaymentRefund:
    """The caller holds the order's lock."""
    if provider_refund_id and not row.provider_refund_id:
        row.provider_refund_id = provider_refund_id
        row.save(update_fields=["provider_refund_id"])
    if row.status == status or row.status == RefundStatus.SUCCEEDED:
        return row
    if status == RefundStatus.PENDING:
        return row
    previous = row.status
    row.status = status
    row.settled_at = timezone.now()
    row.save(update_fields=["status", "settled_at"])
    if status == RefundStatus.FAILED:
        if row.credits_taken:
            reverse_refund(
                order.user,
                row.credits_taken,
                ref=f"payment_order:{order.pk}",
                key=f"refund:{row.pk}:reversed",
                order=order,
                reason=f"Refund {row.pk} failed at the provider",
            )
            row.credits_taken = 0
            row.save(update_fields=["credits_taken"])
        transaction.on_commit(
            lambda: metrics.PAYMENTS.labels(provider=order.provider, outcome="refund_failed").inc()
        )
    elif previous == RefundStatus.FAILED:
        _take(order, row, key=f"refund:{row.pk}:retaken")
    _sync_order(order)
    return row


def _sync_order(order: PaymentOrder) -> None:
    """Refunded while the refunds that count cover the amount, paid otherwise."""
    covered = int(_counted(order)["amount"] or 0) >= order.amount
    if covered and order.status == OrderStatus.PAID:
        order.status, order.refunded_at = OrderStatus.REFUNDED, timezone.now()
        transaction.on_commit(
            lambda: metrics.PAYMENTS.labels(provider=order.provider, outcome="refunded").inc()
        )
    elif not covered and order.status == OrderStatus.REFUNDED:
        order.status, order.refunded_at = OrderStatus.PAID, None
    else:
        return
    order.save(update_fields=["status", "refunded_at"])
