"""Billing's business rules: the credit ledger and (further down) payment orders.

Ledger functions share one shape: a single transaction, the account row locked
with ``select_for_update``, the idempotency key looked up under that lock (a
repeat returns the earlier entry and changes nothing), then one new entry and
the account's cached ``balance``/``reserved`` moved together. They are not
``durable`` on purpose: animations reserves credits in the same transaction
that creates its task, and a paid notification grants them in the transaction
that marks the order paid.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Sum
from django.utils import timezone

from billing import metrics, stripe_gateway, wechat_gateway
from billing.errors import (
    InsufficientCredits,
    InvalidNotification,
    NoOpenReservation,
    OrderNotRefundable,
    PackageUnavailable,
)
from billing.models import (
    CreditAccount,
    CreditPackage,
    EntryKind,
    EventStatus,
    LedgerEntry,
    OrderStatus,
    PackagePrice,
    PaymentOrder,
    Provider,
    ProviderEvent,
)
from config.errors import DomainError

if TYPE_CHECKING:
    from accounts.models import User

logger = structlog.get_logger(__name__)

SIGNUP_BONUS_KEY = "signup-bonus"


# Ledger
# ------------------------------------------------------------------------------


def account_for(user: User) -> CreditAccount:
    """The user's credit account, created empty on first use."""
    account, _created = CreditAccount.objects.get_or_create(user=user)
    return account


def _locked_account(user: User) -> CreditAccount:
    account_for(user)
    return CreditAccount.objects.select_for_update().get(user=user)


def _earlier(account: CreditAccount, key: str) -> LedgerEntry | None:
    return LedgerEntry.objects.filter(account=account, idempotency_key=key).first()


def _append(
    account: CreditAccount,
    *,
    kind: str,
    key: str,
    amount: int = 0,
    reserved_delta: int = 0,
    ref: str = "",
    order: PaymentOrder | None = None,
    staff: User | None = None,
    reason: str = "",
    shortfall: int = 0,
) -> LedgerEntry:
    """Write one entry and move the locked account with it (the caller holds the lock)."""
    account.balance += amount
    account.reserved += reserved_delta
    account.save(update_fields=["balance", "reserved", "updated_at"])
    return LedgerEntry.objects.create(
        account=account,
        kind=kind,
        amount=amount,
        reserved_delta=reserved_delta,
        balance_after=account.balance,
        reserved_after=account.reserved,
        ref=ref,
        order=order,
        staff=staff,
        reason=reason[:500],
        shortfall=shortfall,
        idempotency_key=key,
    )


def _once(user: User, key: str, change: Callable[[CreditAccount], LedgerEntry]) -> LedgerEntry:
    with transaction.atomic():
        account = _locked_account(user)
        earlier = _earlier(account, key)
        if earlier is not None:
            return earlier
        return change(account)


def _reserved_for(account: CreditAccount, ref: str) -> int:
    total = LedgerEntry.objects.filter(account=account, ref=ref).aggregate(s=Sum("reserved_delta"))[
        "s"
    ]
    return int(total or 0)


def _grant(
    user: User,
    amount: int,
    *,
    kind: str,
    key: str,
    ref: str = "",
    reason: str = "",
    order: PaymentOrder | None = None,
) -> LedgerEntry:
    if amount <= 0:
        raise ValueError("A grant is a positive number of credits.")

    def change(account: CreditAccount) -> LedgerEntry:
        entry = _append(
            account, kind=kind, key=key, amount=amount, ref=ref, reason=reason, order=order
        )
        transaction.on_commit(lambda: metrics.CREDITS_GRANTED.labels(kind=kind).inc(amount))
        return entry

    return _once(user, key, change)


def grant_bonus(user: User, amount: int, *, key: str, reason: str = "") -> LedgerEntry:
    """Give free credits once per ``key`` (a promotion, a goodwill gesture)."""
    return _grant(user, amount, kind=EntryKind.BONUS, key=key, reason=reason)


def grant_signup_bonus(user: User) -> LedgerEntry | None:
    """Give ``SIGNUP_BONUS_CREDITS`` once per account, at registration; nothing when it is 0."""
    amount = settings.SIGNUP_BONUS_CREDITS
    if amount <= 0:
        return None
    return _grant(
        user, amount, kind=EntryKind.SIGNUP_BONUS, key=SIGNUP_BONUS_KEY, reason="Sign-up bonus"
    )


def grant_purchase(order: PaymentOrder) -> LedgerEntry:
    """Credit a paid order's credits to its buyer, once per order whatever calls it
    (notification, duplicate notification, reconciliation): the key is the order's."""
    return _grant(
        order.user,
        order.credits,
        kind=EntryKind.PURCHASE,
        key=f"order:{order.pk}:purchase",
        ref=f"payment_order:{order.pk}",
        order=order,
    )


def reserve(user: User, amount: int, *, ref: str, key: str) -> LedgerEntry:
    """Set ``amount`` credits aside for ``ref`` (e.g. ``animation_task:<uuid>``).

    The balance does not change; the credits move to ``reserved`` and are no longer
    available. Refuses with ``insufficient_credits`` (402, ``needed``/``available``)
    when the available credits do not cover it; several reservations may be open
    for one ``ref`` and they add up.
    """
    if amount <= 0:
        raise ValueError("A reservation is a positive number of credits.")

    def change(account: CreditAccount) -> LedgerEntry:
        if account.available < amount:
            raise InsufficientCredits(needed=amount, available=account.available)
        return _append(account, kind=EntryKind.RESERVE, key=key, reserved_delta=amount, ref=ref)

    return _once(user, key, change)


def capture(user: User, amount: int, *, ref: str, key: str) -> LedgerEntry:
    """Charge the actual cost of ``ref`` from its open reservation and release the rest.

    A job never costs more than was reserved for it: ``amount`` above the open
    reservation is charged only up to the reservation. Capturing with nothing open
    (already captured or released) is a ``no_open_reservation`` conflict unless the
    cost is 0.
    """
    if amount < 0:
        raise ValueError("A capture is zero or more credits.")

    def change(account: CreditAccount) -> LedgerEntry:
        open_amount = _reserved_for(account, ref)
        if open_amount <= 0 and amount > 0:
            raise NoOpenReservation(ref=ref)
        charged = min(amount, open_amount)
        entry = _append(
            account,
            kind=EntryKind.CAPTURE,
            key=key,
            amount=-charged,
            reserved_delta=-open_amount,
            ref=ref,
        )
        if charged:
            transaction.on_commit(lambda: metrics.CREDITS_SPENT.inc(charged))
        return entry

    return _once(user, key, change)


def release(user: User, *, ref: str, key: str) -> LedgerEntry | None:
    """Give back whatever of ``ref``'s reservation is still open. Returns the entry,
    or None (and writes nothing) when nothing is open."""
    with transaction.atomic():
        account = _locked_account(user)
        earlier = _earlier(account, key)
        if earlier is not None:
            return earlier
        open_amount = _reserved_for(account, ref)
        if open_amount <= 0:
            return None
        return _append(
            account, kind=EntryKind.RELEASE, key=key, reserved_delta=-open_amount, ref=ref
        )


def refund(
    user: User,
    credits: int,
    *,
    ref: str,
    key: str,
    order: PaymentOrder | None = None,
    reason: str = "",
) -> LedgerEntry:
    """Take back ``credits`` of a refunded payment, as far as they are unspent.

    Only available credits are taken (reserved ones belong to running jobs); the
    part that was already spent is recorded on the entry as ``shortfall`` for
    support to see, never pushed below zero.
    """
    if credits <= 0:
        raise ValueError("A refund takes back a positive number of credits.")

    def change(account: CreditAccount) -> LedgerEntry:
        taken = min(credits, max(account.available, 0))
        return _append(
            account,
            kind=EntryKind.REFUND,
            key=key,
            amount=-taken,
            ref=ref,
            order=order,
            reason=reason,
            shortfall=credits - taken,
        )

    return _once(user, key, change)


def adjust(user: User, amount: int, *, reason: str, key: str, staff: User | None) -> LedgerEntry:
    """A staff correction: add (positive) or remove (negative) credits, with a reason.

    Removing more than is available is refused with ``insufficient_credits``:
    reserved credits belong to running jobs.
    """
    if not reason.strip():
        raise ValueError("An adjustment needs a reason.")
    if amount == 0:
        raise ValueError("An adjustment changes the balance.")

    def change(account: CreditAccount) -> LedgerEntry:
        if amount < 0 and account.available < -amount:
            raise InsufficientCredits(needed=-amount, available=account.available)
        entry = _append(
            account,
            kind=EntryKind.ADJUSTMENT,
            key=key,
            amount=amount,
            ref=f"staff:{staff.pk}" if staff is not None else "staff",
            staff=staff,
            reason=reason,
        )
        if amount > 0:
            transaction.on_commit(
                lambda: metrics.CREDITS_GRANTED.labels(kind=EntryKind.ADJUSTMENT).inc(amount)
            )
        return entry

    return _once(user, key, change)


def open_reservations(account: CreditAccount) -> dict[str, int]:
    """``ref -> credits still reserved`` for every ref with an open reservation."""
    rows = (
        LedgerEntry.objects.filter(account=account)
        .exclude(ref="")
        .values("ref")
        .annotate(open=Sum("reserved_delta"))
        .filter(open__gt=0)
    )
    return {row["ref"]: int(row["open"]) for row in rows}


def recent_entries(user: User, *, limit: int = 20) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(account__user=user).order_by("-id")[:limit])


# Checks
# ------------------------------------------------------------------------------

# Other apps register ``fn() -> list[str]`` here to check that the open
# reservations match their own live records (billing knows nothing of tasks).
reservation_checks: dict[str, Callable[[], list[str]]] = {}


def register_reservation_check(name: str, fn: Callable[[], list[str]]) -> None:
    reservation_checks[name] = fn


def check_ledger() -> list[str]:
    """Every problem found, empty when the ledger is exact: each account's entries
    sum to its balance and reservation, its last entry agrees with it, no ref has
    released more than it reserved, and every registered reservation check passes.

    A first pass compares aggregates without locks; an account that looks wrong is
    checked again under its row lock (writers take that lock before touching its
    entries), so a check running beside live traffic reports no false drift.
    """
    sums = {
        row["account_id"]: (int(row["balance"] or 0), int(row["reserved"] or 0))
        for row in LedgerEntry.objects.values("account_id").annotate(
            balance=Sum("amount"), reserved=Sum("reserved_delta")
        )
    }
    suspects = [
        account.pk
        for account in CreditAccount.objects.only("pk", "balance", "reserved").iterator(
            chunk_size=2000
        )
        if sums.get(account.pk, (0, 0)) != (account.balance, account.reserved)
    ]
    last_ids = LedgerEntry.objects.values("account_id").annotate(last=Max("id"))
    last_entries = LedgerEntry.objects.in_bulk([row["last"] for row in last_ids])
    accounts = CreditAccount.objects.in_bulk([e.account_id for e in last_entries.values()])
    suspects.extend(
        entry.account_id
        for entry in last_entries.values()
        if (entry.balance_after, entry.reserved_after)
        != (accounts[entry.account_id].balance, accounts[entry.account_id].reserved)
    )
    problems: list[str] = []
    for account_id in sorted(set(suspects)):
        problems.extend(_check_account(account_id))
    negative = (
        LedgerEntry.objects.exclude(ref="")
        .values("account_id", "ref")
        .annotate(open=Sum("reserved_delta"))
        .filter(open__lt=0)
    )
    problems.extend(
        f"account {row['account_id']}: {row['ref']} released more than it reserved"
        for row in negative
    )
    for name, fn in reservation_checks.items():
        problems.extend(f"{name}: {problem}" for problem in fn())
    return problems


def _check_account(account_id: int) -> list[str]:
    problems: list[str] = []
    with transaction.atomic():
        account = CreditAccount.objects.select_for_update().get(pk=account_id)
        entries = LedgerEntry.objects.filter(account=account)
        totals = entries.aggregate(balance=Sum("amount"), reserved=Sum("reserved_delta"))
        balance, reserved = int(totals["balance"] or 0), int(totals["reserved"] or 0)
        last = entries.order_by("-id").first()
    if balance != account.balance:
        problems.append(
            f"account {account.pk}: entries sum to {balance}, balance is {account.balance}"
        )
    if reserved != account.reserved:
        problems.append(
            f"account {account.pk}: reservations sum to {reserved}, reserved is {account.reserved}"
        )
    if last is not None and (last.balance_after, last.reserved_after) != (
        account.balance,
        account.reserved,
    ):
        problems.append(f"account {account.pk}: last entry {last.pk} disagrees with the account")
    return problems


# Account hooks
# ------------------------------------------------------------------------------


def grant_signup_bonus_hook(user: User) -> None:
    """Registered with ``accounts.hooks.on_signup``: the sign-up bonus, once."""
    grant_signup_bonus(user)


def detach_personal_data(user: User) -> None:
    """Registered with ``accounts.hooks.on_erasure``: orders and ledger rows are kept
    (money records outlive the person) but lose what identifies the payer: the
    WeChat openid, JS bridge parameters, and provider payloads (which carry names,
    emails and openids) reduced to their ids. Idempotent."""
    with transaction.atomic():
        PaymentOrder.objects.filter(user=user).update(
            payer_openid="", jsapi_params=None, checkout_url="", code_url="", h5_url=""
        )
        for event in ProviderEvent.objects.filter(order__user=user):
            if event.payload.get("redacted") is True:
                continue
            event.payload = {"id": event.event_id, "type": event.event_type, "redacted": True}
            event.headers = {}
            event.save(update_fields=["payload", "headers"])


# Packages and orders
# ------------------------------------------------------------------------------


def active_packages() -> list[CreditPackage]:
    return list(CreditPackage.objects.filter(active=True).prefetch_related("prices"))


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
) -> tuple[PaymentOrder, bool]:
    """A pending order priced from the package, or the user's earlier order for the
    same ``Idempotency-Key`` at the same provider (``created`` False)."""
    # Scoped by provider: one key sent to both create endpoints opens one order each.
    idempotency_key = f"{provider}:{idempotency_key}" if idempotency_key else None
    earlier = _existing_order(user, idempotency_key)
    if earlier is not None:
        return earlier, False
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
        return earlier, False
    return order, True


def _fail_unopened(order: PaymentOrder, reason: str) -> None:
    PaymentOrder.objects.filter(pk=order.pk, status=OrderStatus.PENDING).update(
        status=OrderStatus.FAILED, failure_reason=reason[:500]
    )


def create_stripe_order(
    user: User, *, package_id: int, idempotency_key: str | None = None
) -> PaymentOrder:
    """Open a Stripe Checkout Session for a package at its ``STRIPE_CURRENCY`` price.

    The order is committed before Stripe is called (no transaction is held across
    the network) and the session is created under the order's own idempotency key.
    A repeat with the same ``Idempotency-Key`` returns the first order. Nothing here
    grants credits: only the signed notification or reconciliation does.
    """
    order, created = _new_order(
        user,
        provider=Provider.STRIPE,
        package_id=package_id,
        currency=settings.STRIPE_CURRENCY,
        idempotency_key=idempotency_key,
    )
    if not created:
        return order
    assert order.expires_at is not None
    try:
        session = stripe_gateway.create_checkout_session(
            order_id=str(order.pk),
            name=f"{order.package.name} ({order.credits} credits)",
            credits=order.credits,
            amount=order.amount,
            currency=order.currency,
            expires_at=int(order.expires_at.timestamp()),
        )
    except DomainError as exc:
        _fail_unopened(order, exc.detail)
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
    first order, and only the notification or reconciliation grants credits."""
    order, created = _new_order(
        user,
        provider=Provider.WECHAT,
        package_id=package_id,
        currency="CNY",
        idempotency_key=idempotency_key,
        trade_type=trade_type,
        payer_openid=openid,
    )
    if not created:
        return order
    assert order.expires_at is not None
    try:
        result = wechat_gateway.create_transaction(
            trade_type=trade_type,
            out_trade_no=order.out_trade_no,
            description=f"{order.package.name} ({order.credits} credits)"[:127],
            total_fen=order.amount,
            expires_at=order.expires_at,
            openid=openid,
            client_ip=client_ip,
        )
    except DomainError as exc:
        _fail_unopened(order, exc.detail)
        raise
    order.code_url = result.get("code_url", "")
    order.h5_url = result.get("h5_url", "")
    order.jsapi_params = result.get("jsapi_params")
    order.save(update_fields=["code_url", "h5_url", "jsapi_params"])
    return order


def order_for(user: User, order_id: object) -> PaymentOrder | None:
    return PaymentOrder.objects.select_related("package").filter(pk=order_id, user=user).first()


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
        metrics.PAYMENTS.labels(provider=order.provider, outcome=status).inc()
    return bool(won)


def settle_refunded(
    order: PaymentOrder, *, refunded_amount: int | None = None, source: str, reason: str = ""
) -> LedgerEntry | None:
    """Take back a refunded payment's credits in proportion to the money returned so
    far (``refunded_amount`` is cumulative, minor units; None means all of it),
    rounded up, as far as they are unspent (``refund``).

    The order row is locked, so notices of the same refund, or the notice that
    follows a refund staff made, find the credits already taken and change nothing.
    A full refund moves the order to ``refunded``; a partial one leaves it paid.
    """
    refunded_amount = order.amount if refunded_amount is None else refunded_amount
    refunded_amount = max(0, min(refunded_amount, order.amount))
    target = -(-order.credits * refunded_amount // order.amount)
    with transaction.atomic():
        locked = PaymentOrder.objects.select_for_update().get(pk=order.pk)
        if locked.status not in {OrderStatus.PAID, OrderStatus.REFUNDED}:
            return None
        taken = LedgerEntry.objects.filter(order=locked, kind=EntryKind.REFUND).aggregate(
            claimed=Sum(F("shortfall") - F("amount"))
        )["claimed"]
        missing = target - int(taken or 0)
        if refunded_amount == order.amount and locked.status == OrderStatus.PAID:
            locked.status = OrderStatus.REFUNDED
            locked.refunded_at = timezone.now()
            locked.save(update_fields=["status", "refunded_at"])
            transaction.on_commit(
                lambda: metrics.PAYMENTS.labels(provider=order.provider, outcome="refunded").inc()
            )
        if missing <= 0:
            return None
        return refund(
            locked.user,
            missing,
            ref=f"payment_order:{order.pk}",
            key=f"order:{order.pk}:refund:{refunded_amount}",
            order=locked,
            reason=reason or f"Refunded {refunded_amount} {order.currency} ({source})",
        )


def refund_order(order: PaymentOrder, *, staff: User | None, reason: str) -> LedgerEntry | None:
    """Staff refund: ask the provider to return the money (under an idempotency key
    of the order, so asking twice refunds once), then take the credits back."""
    if order.status != OrderStatus.PAID:
        raise OrderNotRefundable()
    if order.provider == Provider.STRIPE:
        stripe_gateway.create_refund(
            payment_intent=order.provider_payment_id, order_id=str(order.pk)
        )
    else:
        wechat_gateway.create_refund(
            out_trade_no=order.out_trade_no,
            out_refund_no=f"{order.out_trade_no[:30]}r1",
            total_fen=order.amount,
        )
    who = f"staff {staff.pk}" if staff is not None else "staff"
    return settle_refunded(order, source="admin", reason=f"{reason} ({who})")


def reconcile_order(order: PaymentOrder) -> str:
    """Ask the provider how a pending order stands and settle it the same way a
    notification would. Returns the order's status afterwards."""
    if order.provider == Provider.STRIPE:
        if not order.provider_session_id:
            settle_unpaid(order, status=OrderStatus.FAILED, reason="No checkout session.")
        else:
            session = stripe_gateway.retrieve_checkout_session(order.provider_session_id)
            _apply_stripe_session(order, session, source="reconcile")
    else:
        data = wechat_gateway.query_transaction(order.out_trade_no)
        _apply_wechat_transaction(order, data, source="reconcile")
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
            results[str(order.pk)] = f"error: {exc.detail}"
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
                _apply_stripe_session(order, session, source="expiry")
            elif order.provider == Provider.WECHAT:
                data = wechat_gateway.query_transaction(order.out_trade_no)
                if data.get("trade_state") in {"NOTPAY", "USERPAYING"}:
                    wechat_gateway.close_transaction(order.out_trade_no)
                    data = {**data, "trade_state": "CLOSED"}
                _apply_wechat_transaction(order, data, source="expiry")
            else:
                settle_unpaid(order, status=OrderStatus.FAILED, reason="No checkout session.")
        except DomainError as exc:
            logger.warning("could not expire order", order_id=str(order.pk), error=exc.detail)
            continue
        order.refresh_from_db()
        canceled += order.status == OrderStatus.CANCELED
    return canceled


def _apply_stripe_session(order: PaymentOrder, session: dict[str, Any], *, source: str) -> None:
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


def _apply_wechat_transaction(order: PaymentOrder, data: dict[str, Any], *, source: str) -> None:
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


# Provider notifications
# ------------------------------------------------------------------------------


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


def _handle_stripe(event: ProviderEvent) -> bool:
    obj = ((event.payload.get("data") or {}).get("object")) or {}
    kind = event.event_type
    if kind not in {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
        "charge.refunded",
    }:
        return False
    order = _stripe_order(obj)
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
        settle_refunded(
            order,
            refunded_amount=int(obj.get("amount_refunded") or 0),
            source=f"stripe {event.event_id}",
        )
    elif kind in {"checkout.session.completed", "checkout.session.async_payment_succeeded"}:
        if obj.get("payment_status") != "paid":
            return False
        _apply_stripe_session(order, obj, source=f"stripe {event.event_id}")
    elif kind == "checkout.session.async_payment_failed":
        settle_unpaid(order, status=OrderStatus.FAILED, reason="Async payment failed.")
    else:
        settle_unpaid(order, status=OrderStatus.CANCELED, reason="Session expired.")
    return True


def _handle_wechat(event: ProviderEvent) -> bool:
    resource = event.payload.get("resource") or {}
    paid = event.event_type == "TRANSACTION.SUCCESS" and resource.get("trade_state") == "SUCCESS"
    refunded = event.event_type == "REFUND.SUCCESS" and resource.get("refund_status") == "SUCCESS"
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
        _apply_wechat_transaction(order, resource, source=f"wechat {event.event_id}")
        return True
    amount = resource.get("amount") or {}
    if resource.get("mchid") != settings.WECHATPAY_MCHID or int(amount.get("total") or 0) != (
        order.amount
    ):
        raise InvalidNotification("The refund does not match the order.")
    if int(amount.get("refund") or 0) != order.amount:
        # WeChat reports each partial refund on its own, not a running total; without
        # a refund table there is no safe sum, so partial refunds are left to support.
        return False
    settle_refunded(order, source=f"wechat {event.event_id}")
    return True


_HANDLERS: dict[str, Callable[[ProviderEvent], bool]] = {
    Provider.STRIPE: _handle_stripe,
    Provider.WECHAT: _handle_wechat,
}


def receive_stripe_event(payload: bytes, signature: str | None) -> ProviderEvent:
    """Verify, store raw, then process once (see ``process_event``)."""
    data = stripe_gateway.verify_event(payload, signature)
    event = record_event(
        provider=Provider.STRIPE,
        event_id=str(data["id"]),
        event_type=str(data["type"]),
        payload=data,
        headers={"Stripe-Signature": signature or ""},
    )
    return process_event(event)


def receive_wechat_notification(headers: dict[str, str], body: bytes) -> ProviderEvent:
    """Verify (signature, replay window), decrypt, store, then process once."""
    data = wechat_gateway.verify_notification(headers, body)
    kept = {k: v for k, v in headers.items() if k.lower().startswith("wechatpay-")}
    event = record_event(
        provider=Provider.WECHAT,
        event_id=str(data["id"]),
        event_type=str(data.get("event_type") or ""),
        payload=data,
        headers=kept,
    )
    return process_event(event)


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
