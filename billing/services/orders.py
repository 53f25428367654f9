"""Payment orders: packages on sale, opening an order at its provider, settling
it (paid, unpaid, refunded) exactly once, reconciliation and expiry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from billing import metrics, stripe_gateway, wechat_gateway
from billing.errors import InvalidNotification, PackageUnavailable
from billing.models import (
    CreditPackage,
    OrderStatus,
    PackagePrice,
    PaymentOrder,
    Provider,
    ProviderEvent,
)
from billing.services.ledger import grant_purchase
from config.errors import DomainError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from accounts.models import User


logger = structlog.get_logger(__name__)


# The catalogue a new deployment starts with (migration 0004, seed_packages):
# name, credits, price per currency in minor units. Staff edit it in the admin.
DEFAULT_PACKAGES: list[tuple[str, int, dict[str, int]]] = [
    ("Starter", 100, {"USD": 499, "CNY": 2900}),
    ("Standard", 500, {"USD": 1999, "CNY": 12900}),
    ("Pro", 1200, {"USD": 3999, "CNY": 25900}),
]


def active_packages() -> list[CreditPackage]:
    """The packages on sale, in their admin ordering, with their prices."""
    return list(CreditPackage.objects.filter(active=True).prefetch_related("prices"))


def create_default_packages(
    *,
    package_model: type[CreditPackage] = CreditPackage,
    price_model: type[PackagePrice] = PackagePrice,
    using: str = "default",
) -> int:
    """Create ``DEFAULT_PACKAGES`` when no package exists at all (active or not),
    in one transaction; a catalogue that exists is never touched. Returns how
    many packages were created. The models are parameters so that a migration
    can pass its historical ones."""
    with transaction.atomic(using=using):
        if package_model.objects.using(using).exists():
            return 0
        for ordering, (name, credits, prices) in enumerate(DEFAULT_PACKAGES):
            package = package_model.objects.using(using).create(
                name=name, credits=credits, ordering=ordering
            )
            price_model.objects.using(using).bulk_create(
                [
                    price_model(package=package, currency=currency, amount=amount)
                    for currency, amount in prices.items()
                ]
            )
    return len(DEFAULT_PACKAGES)


def payment_methods() -> dict[str, dict[str, list[str]] | None]:
    """The providers this deployment can open orders with, each with what a client
    may choose: Stripe's currencies (those packages are priced in, the default
    ``STRIPE_CURRENCY`` first) and WeChat Pay's trade types; None when unconfigured."""
    priced = set(
        PackagePrice.objects.filter(package__active=True).values_list("currency", flat=True)
    )
    default = settings.STRIPE_CURRENCY.upper()
    currencies = sorted(priced, key=lambda c: (c != default, c))
    return {
        "stripe": {"currencies": currencies} if stripe_gateway.is_configured() else None,
        "wechat": (
            {"trade_types": list(wechat_gateway.TRADE_TYPES)}
            if wechat_gateway.is_configured()
            else None
        ),
    }


def _price(package_id: int, currency: str) -> tuple[CreditPackage, PackagePrice]:
    price = (
        PackagePrice.objects.select_related("package")
        .filter(package_id=package_id, package__active=True, currency=currency.upper())
        .first()
    )
    if price is None:
        raise PackageUnavailable(attr="package_id")
    return price.package, price


def _existing_order(user: User, idempotency_key: str | None) -> PaymentOrder | None:
    if not idempotency_key:
        return None
    return PaymentOrder.objects.filter(user=user, idempotency_key=idempotency_key).first()


def _new_order(
    user: User,
    *,
    provider: str,
    package_id: int,
    currency: str,
    idempotency_key: str | None,
    trade_type: str = "",
    payer_openid: str = "",
) -> PaymentOrder:
    """A new pending order priced from the package, or the user's earlier order for
    the same ``Idempotency-Key`` at the same provider."""
    # Scoped by provider: one key sent to both create endpoints opens one order each.
    idempotency_key = f"{provider}:{idempotency_key}" if idempotency_key else None
    earlier = _existing_order(user, idempotency_key)
    if earlier is not None:
        return earlier
    package, price = _price(package_id, currency)
    try:
        with transaction.atomic():
            order = PaymentOrder.objects.create(
                user=user,
                provider=provider,
                package=package,
                credits=package.credits,
                amount=price.amount,
                currency=price.currency,
                trade_type=trade_type,
                payer_openid=payer_openid,
                idempotency_key=idempotency_key or None,
                expires_at=timezone.now() + timedelta(minutes=settings.PAYMENT_ORDER_TTL_MINUTES),
            )
    except IntegrityError:
        # The same key raced us in another request; its order is the answer.
        earlier = _existing_order(user, idempotency_key)
        if earlier is None:
            raise
        return earlier
    return order


def _fail_unopened(order: PaymentOrder, reason: StrOrPromise) -> None:
    PaymentOrder.objects.filter(pk=order.pk, status=OrderStatus.PENDING).update(
        status=OrderStatus.FAILED, failure_reason=str(reason)[:500]
    )


def create_stripe_order(
    user: User,
    *,
    package_id: int,
    currency: str | None = None,
    idempotency_key: str | None = None,
) -> PaymentOrder:
    """Open a Stripe Checkout Session for a package at its price in ``currency``
    (``STRIPE_CURRENCY`` by default; ``package_unavailable`` when it has none).

    The order is committed before Stripe is called (no transaction is held across
    the network) and the session is created under the order's own idempotency key.
    A repeat with the same ``Idempotency-Key`` returns the first order; one that
    arrives while the first is still waiting for Stripe asks Stripe again under the
    same key, gets the same session, and so answers with its ``checkout_url`` too.
    Nothing here grants credits: only the signed notification or reconciliation does.
    """
    stripe_gateway.ensure_configured()
    order = _new_order(
        user,
        provider=Provider.STRIPE,
        package_id=package_id,
        currency=currency or settings.STRIPE_CURRENCY,
        idempotency_key=idempotency_key,
    )
    if order.status != OrderStatus.PENDING or order.checkout_url:
        return order
    assert order.expires_at is not None
    # From the order alone, so that a repeat asks Stripe with the same parameters.
    expires_at = max(
        order.expires_at,
        order.created_at + timedelta(seconds=stripe_gateway.MIN_SESSION_SECONDS),
    )
    try:
        session = stripe_gateway.create_checkout_session(
            order_id=str(order.pk),
            name=f"{order.package.name} ({order.credits} credits)",
            credits=order.credits,
            amount=order.amount,
            currency=order.currency,
            expires_at=int(expires_at.timestamp()),
        )
    except DomainError as exc:
        _fail_unopened(order, exc.internal_detail)
        raise
    order.provider_session_id = session["id"]
    order.checkout_url = session.get("url") or ""
    if session.get("expires_at"):
        order.expires_at = datetime.fromtimestamp(int(session["expires_at"]), tz=UTC)
    order.save(update_fields=["provider_session_id", "checkout_url", "expires_at"])
    return order


def create_wechat_order(
    user: User,
    *,
    package_id: int,
    trade_type: str,
    openid: str = "",
    client_ip: str = "",
    idempotency_key: str | None = None,
) -> PaymentOrder:
    """Open a WeChat Pay transaction (native, jsapi or h5) for a package's CNY price,
    in fen. Like Stripe: the order is committed first, a repeated key returns the
    first order (asking WeChat again under the same ``out_trade_no`` while the first
    request is still in flight, which WeChat answers with the same transaction), and
    only the notification or reconciliation grants credits."""
    wechat_gateway.ensure_configured()
    order = _new_order(
        user,
        provider=Provider.WECHAT,
        package_id=package_id,
        currency="CNY",
        idempotency_key=idempotency_key,
        trade_type=trade_type,
        payer_openid=openid,
    )
    if order.status != OrderStatus.PENDING or order.code_url or order.h5_url or order.jsapi_params:
        return order
    assert order.expires_at is not None
    try:
        result = wechat_gateway.create_transaction(
            trade_type=order.trade_type,
            out_trade_no=order.out_trade_no,
            description=f"{order.package.name} ({order.credits} credits)"[:127],
            total_fen=order.amount,
            expires_at=order.expires_at,
            openid=order.payer_openid,
            client_ip=client_ip,
            return_url=settings.WECHATPAY_H5_REDIRECT_URL.replace("{PAYMENT_ID}", str(order.pk)),
        )
    except DomainError as exc:
        _fail_unopened(order, exc.internal_detail)
        raise
    order.code_url = result.get("code_url", "")
    order.h5_url = result.get("h5_url", "")
    order.jsapi_params = result.get("jsapi_params")
    order.save(update_fields=["code_url", "h5_url", "jsapi_params"])
    return order


def order_for(user: User, order_id: uuid.UUID | str) -> PaymentOrder | None:
    """One of ``user``'s orders; None for another user's, as if it did not exist."""
    return PaymentOrder.objects.select_related("package").filter(pk=order_id, user=user).first()


def user_orders(user: User, *, status: str | None = None) -> QuerySet[PaymentOrder]:
    """The user's orders, newest first, optionally only those in ``status``."""
    orders = PaymentOrder.objects.select_related("package").filter(user=user)
    if status:
        orders = orders.filter(status=status)
    return orders.order_by("-created_at", "-id")


def settle_paid(
    order: PaymentOrder, *, amount: int, currency: str, payment_id: str, source: str
) -> bool:
    """Mark an order paid and grant its credits, exactly once.

    The provider's amount and currency must equal the order's, or nothing changes
    (``invalid_notification``). The claim is a conditional update from any unpaid
    state (a payment that lands after we closed the order still bought the
    credits); only the winner grants, and the grant's key is the order's, so a
    duplicate, a concurrent delivery or reconciliation can never grant twice.
    Returns True when this call settled the order.
    """
    if amount != order.amount or currency.upper() != order.currency.upper():
        raise InvalidNotification(
            f"Paid {amount} {currency.upper()}, the order is {order.amount} {order.currency}."
        )
    with transaction.atomic():
        won = PaymentOrder.objects.filter(
            pk=order.pk,
            status__in=[OrderStatus.PENDING, OrderStatus.CANCELED, OrderStatus.FAILED],
        ).update(status=OrderStatus.PAID, paid_at=timezone.now(), provider_payment_id=payment_id)
        if not won:
            return False
        order.refresh_from_db()
        grant_purchase(order)
        transaction.on_commit(
            lambda: metrics.PAYMENTS.labels(provider=order.provider, outcome="paid").inc()
        )
    logger.info("payment settled", order_id=str(order.pk), source=source)
    return True


def settle_unpaid(order: PaymentOrder, *, status: str, reason: str = "") -> bool:
    """A pending order that will not be paid becomes failed or canceled; nothing else moves."""
    won = PaymentOrder.objects.filter(pk=order.pk, status=OrderStatus.PENDING).update(
        status=status, failure_reason=reason[:500], closed_at=timezone.now()
    )
    if won:
        transaction.on_commit(
            lambda: metrics.PAYMENTS.labels(provider=order.provider, outcome=status).inc()
        )
    return bool(won)


def reconcile_order(order: PaymentOrder) -> str:
    """Ask the provider how a pending order stands and settle it the same way a
    notification would. Returns the order's status afterwards."""
    if order.provider == Provider.STRIPE:
        if not order.provider_session_id:
            settle_unpaid(order, status=OrderStatus.FAILED, reason="No checkout session.")
        else:
            session = stripe_gateway.retrieve_checkout_session(order.provider_session_id)
            apply_stripe_session(order, session, source="reconcile")
    else:
        data = wechat_gateway.query_transaction(order.out_trade_no)
        apply_wechat_transaction(order, data, source="reconcile")
    order.refresh_from_db()
    return order.status


def reconcile_pending(*, older_than_minutes: int, dry_run: bool = False) -> dict[str, str]:
    """Every pending order older than N minutes, reconciled with its provider:
    ``order id -> status`` (the current one on a dry run)."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    results: dict[str, str] = {}
    for order in PaymentOrder.objects.filter(
        status=OrderStatus.PENDING, created_at__lt=cutoff
    ).order_by("created_at"):
        if dry_run:
            results[str(order.pk)] = order.status
            continue
        try:
            results[str(order.pk)] = reconcile_order(order)
        except DomainError as exc:
            results[str(order.pk)] = f"error: {exc.internal_detail}"
    return results


def expire_pending_orders(*, now: datetime | None = None) -> int:
    """Close every pending order past its ``expires_at`` at its provider, then cancel
    it here. When the provider says it was paid after all, it is settled as paid.
    Returns how many orders were canceled; safe to run any number of times."""
    now = now or timezone.now()
    canceled = 0
    for order in PaymentOrder.objects.filter(status=OrderStatus.PENDING, expires_at__lt=now):
        try:
            if order.provider == Provider.STRIPE and order.provider_session_id:
                session = stripe_gateway.retrieve_checkout_session(order.provider_session_id)
                if session.get("status") == "open":
                    session = stripe_gateway.expire_checkout_session(order.provider_session_id)
                apply_stripe_session(order, session, source="expiry")
            elif order.provider == Provider.WECHAT:
                data = wechat_gateway.query_transaction(order.out_trade_no)
                if data.get("trade_state") in {"NOTPAY", "USERPAYING"}:
                    wechat_gateway.close_transaction(order.out_trade_no)
                    data = {**data, "trade_state": "CLOSED"}
                apply_wechat_transaction(order, data, source="expiry")
            else:
                settle_unpaid(order, status=OrderStatus.FAILED, reason="No checkout session.")
        except DomainError as exc:
            logger.warning(
                "could not expire order", order_id=str(order.pk), error=exc.internal_detail
            )
            continue
        order.refresh_from_db()
        canceled += order.status == OrderStatus.CANCELED
    return canceled


def apply_stripe_session(order: PaymentOrder, session: dict[str, Any], *, source: str) -> None:
    """Settle an order from its Checkout Session as Stripe reports it: paid grants
    (``settle_paid``), expired cancels; anything else (open, unpaid) changes nothing."""
    if session.get("payment_status") == "paid":
        settle_paid(
            order,
            amount=int(session.get("amount_total") or 0),
            currency=str(session.get("currency") or ""),
            payment_id=str(session.get("payment_intent") or ""),
            source=source,
        )
    elif session.get("status") == "expired":
        settle_unpaid(order, status=OrderStatus.CANCELED, reason=f"Session expired ({source}).")


def apply_wechat_transaction(order: PaymentOrder, data: dict[str, Any], *, source: str) -> None:
    """Settle an order from its WeChat transaction: ``SUCCESS`` grants (after the
    merchant and app are checked), ``CLOSED``/``REVOKED`` cancel, ``PAYERROR`` fails;
    ``NOTPAY`` and ``USERPAYING`` are not final and change nothing."""
    state = data.get("trade_state")
    if state == "SUCCESS":
        _check_wechat_merchant(data)
        settle_paid(
            order,
            amount=int((data.get("amount") or {}).get("total") or 0),
            currency=str((data.get("amount") or {}).get("currency") or "CNY"),
            payment_id=str(data.get("transaction_id") or ""),
            source=source,
        )
    elif state in {"CLOSED", "REVOKED"}:
        settle_unpaid(order, status=OrderStatus.CANCELED, reason=f"{state} ({source}).")
    elif state == "PAYERROR":
        settle_unpaid(order, status=OrderStatus.FAILED, reason=f"{state} ({source}).")


def _check_wechat_merchant(data: dict[str, Any]) -> None:
    if (
        data.get("mchid") != settings.WECHATPAY_MCHID
        or data.get("appid") != settings.WECHATPAY_APPID
    ):
        raise InvalidNotification("The transaction belongs to another merchant or app.")


def detach_personal_data(user: User) -> None:
    """Registered with ``accounts.hooks.on_erasure``: orders and ledger rows are kept
    (money records outlive the person) but lose what identifies the payer: the
    WeChat openid, JS bridge parameters, and provider payloads (which carry names,
    emails and openids) reduced to their ids. Pending orders expire at once, so the
    expiry task closes them at the provider. Idempotent."""
    with transaction.atomic():
        PaymentOrder.objects.filter(user=user).update(
            payer_openid="", jsapi_params=None, checkout_url="", code_url="", h5_url=""
        )
        # Payments still open are closed at the provider by the expiry task, not from
        # inside this transaction.
        now = timezone.now()
        PaymentOrder.objects.filter(
            user=user, status=OrderStatus.PENDING, expires_at__gt=now
        ).update(expires_at=now)
        for event in ProviderEvent.objects.filter(order__user=user):
            if event.payload.get("redacted") is True:
                continue
            event.payload = {"id": event.event_id, "type": event.event_type, "redacted": True}
            event.headers = {}
            event.save(update_fields=["payload", "headers"])
