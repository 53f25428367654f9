"""The credit ledger: one account per user, append-only entries, and its check.

Ledger functions share one shape: a single transaction, the account row locked
with ``select_for_update``, the idempotency key looked up under that lock (a
repeat returns the earlier entry and changes nothing), then one new entry and
the account's cached ``balance``/``reserved`` moved together. They are not
``durable`` on purpose: animations reserves credits in the same transaction
that creates its task, and a paid notification grants them in the transaction
that marks the order paid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet, Sum

from accounts.services import email_digest
from billing import metrics
from billing.errors import (
    InsufficientCredits,
    NoOpenReservation,
)
from billing.models import (
    CreditAccount,
    EntryKind,
    LedgerEntry,
    OrderStatus,
    PaymentOrder,
    SignupBonusClaim,
)
from config.hooks import Registry

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
    """The user's account, row-locked for the transaction (created first, if it
    is truly missing: reads are READ COMMITTED, so the miss locks no gap and a
    concurrent first creation ends in ``get_or_create``'s unique-key retry)."""
    account = CreditAccount.objects.select_for_update().filter(user=user).first()
    if account is None:
        account_for(user)
        account = CreditAccount.objects.select_for_update().get(user=user)
    return account


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


def signup_bonus() -> int:
    """The credits a new account is given once (``SIGNUP_BONUS_CREDITS``, may be 0)."""
    return settings.SIGNUP_BONUS_CREDITS


def grant_signup_bonus(user: User, *, email: str) -> LedgerEntry | None:
    """Give ``SIGNUP_BONUS_CREDITS`` (may be 0: nothing) for the verified ``email``
    of ``user``, once per account and once per address ever.

    Called when an address is proved (its verification link, or a provider that
    vouches for it), never at registration: an unverified throwaway address gets
    nothing. The address is remembered as a keyed hash of its canonical form
    (``SignupBonusClaim``, unique), which survives the account's erasure, so
    erasing and registering again, or ``a+1@``/``a+2@`` of one mailbox, gives no
    second bonus. Under the account's row lock: the ledger key decides "this
    account already has it", the unique digest "this address already had it"
    (also between two accounts racing with one address). Disabled and erased
    accounts get nothing.
    """
    amount = settings.SIGNUP_BONUS_CREDITS
    if amount <= 0 or not user.is_active or user.erased_at is not None:
        return None
    digest = email_digest(email)
    with transaction.atomic():
        account = _locked_account(user)
        earlier = _earlier(account, SIGNUP_BONUS_KEY)
        if earlier is not None:
            return earlier
        try:
            with transaction.atomic():
                SignupBonusClaim.objects.create(address_digest=digest, account=account)
        except IntegrityError:
            logger.info("signup_bonus_already_claimed", user_id=str(user.pk))
            return None
        entry = _append(
            account,
            kind=EntryKind.SIGNUP_BONUS,
            key=SIGNUP_BONUS_KEY,
            amount=amount,
            reason="Sign-up bonus",
        )
        transaction.on_commit(
            lambda: metrics.CREDITS_GRANTED.labels(kind=EntryKind.SIGNUP_BONUS).inc(amount)
        )
        return entry


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


def ensure_available(user: User, amount: int) -> None:
    """Refuse now (``insufficient_credits``, 402, ``needed``/``available``), reserving
    nothing, when ``amount`` is more than the user's available credits: a check
    before slow work a refusal would waste (a download), not a promise, since
    only ``reserve`` under the account's lock decides."""
    available = account_for(user).available
    if available < amount:
        raise InsufficientCredits(needed=amount, available=available)


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
        entry = _append(
            account, kind=EntryKind.RELEASE, key=key, reserved_delta=-open_amount, ref=ref
        )
        transaction.on_commit(lambda: metrics.CREDITS_RELEASED.inc(open_amount))
        return entry


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
        entry = _append(
            account,
            kind=EntryKind.REFUND,
            key=key,
            amount=-taken,
            ref=ref,
            order=order,
            reason=reason,
            shortfall=credits - taken,
        )
        if taken:
            transaction.on_commit(lambda: metrics.CREDITS_REFUNDED.inc(taken))
        return entry

    return _once(user, key, change)


def reverse_refund(
    user: User, credits: int, *, ref: str, key: str, order: PaymentOrder, reason: str
) -> LedgerEntry:
    """Give back the credits a refund took when the provider reports that refund
    failed: the money stayed with us, so the credits are the buyer's again. Once
    per ``key``."""
    return _grant(
        user,
        credits,
        kind=EntryKind.REFUND_REVERSAL,
        key=key,
        ref=ref,
        reason=reason,
        order=order,
    )


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
    """The user's latest ledger entries, newest first (what ``/api/users/credits`` shows)."""
    return list(user_entries(user)[:limit])


def user_entries(user: User) -> QuerySet[LedgerEntry]:
    """All of the user's ledger entries, newest first (entries are append-only, so
    the id orders them as they happened)."""
    return LedgerEntry.objects.filter(account__user=user).order_by("-id")


# Checks
# ------------------------------------------------------------------------------

# Other apps register ``fn() -> list[str]`` here (a ``config.hooks.Registry``) to
# check that the open reservations match their own live records (billing knows
# nothing of tasks).
reservation_checks: Registry[Callable[[], list[str]]] = Registry()


def register_reservation_check(name: str, fn: Callable[[], list[str]]) -> None:
    """Add (or replace, by ``name``) a check that ``check_ledger`` runs: ``fn()`` lists
    the open reservations its app no longer holds, empty when they all match."""
    reservation_checks.register(name)(fn)


def check_ledger() -> list[str]:
    """Every problem found, empty when the ledger is exact: each account's entries
    sum to its balance and reservation, its last entry agrees with it, no ref has
    released more than it reserved, paid orders and purchase entries match one to
    one, and every registered reservation check passes.

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
    problems.extend(_check_purchases())
    for name, fn in reservation_checks.items():
        problems.extend(f"{name}: {problem}" for problem in fn())
    return problems


def _check_purchases() -> list[str]:
    """Paid orders granted their credits, and only paid orders did (``settle_paid``
    moves the order and writes the entry in one transaction)."""
    settled = [OrderStatus.PAID, OrderStatus.REFUNDED]
    ungranted = PaymentOrder.objects.filter(status__in=settled).exclude(
        ledger_entries__kind=EntryKind.PURCHASE
    )
    unpaid = LedgerEntry.objects.filter(kind=EntryKind.PURCHASE).exclude(order__status__in=settled)
    return [
        f"order {pk}: paid, no purchase entry" for pk in ungranted.values_list("pk", flat=True)
    ] + [
        f"order {order_id}: purchase entry {pk}, order not paid"
        for pk, order_id in unpaid.values_list("pk", "order_id")
    ]


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


def grant_signup_bonus_hook(user: User, email: str) -> None:
    """Registered with ``accounts.hooks.on_email_verified``: the sign-up bonus, once
    per account and per address."""
    grant_signup_bonus(user, email=email)
