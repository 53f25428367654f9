"""Credits: an account per user, an append-only ledger, packages, payment orders and
the raw provider notifications they were settled from.

The ledger is exact by construction: ``CreditAccount.balance`` is the sum of every
entry's ``amount`` and ``CreditAccount.reserved`` the sum of every entry's
``reserved_delta``; ``billing.services.check_ledger`` proves it.
"""

from __future__ import annotations

import uuid
from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class CreditAccount(models.Model):
    """One per user. ``available = balance - reserved``; the database refuses a
    negative balance, a negative reservation or a reservation above the balance."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credit_account"
    )
    balance = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="credit_balance_gte_0"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="credit_reserved_gte_0"),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("balance")), name="credit_reserved_lte_balance"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.balance} ({self.reserved} reserved)"

    @property
    def available(self) -> int:
        return self.balance - self.reserved


class EntryKind(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")
    SIGNUP_BONUS = "signup_bonus", _("Sign-up bonus")
    BONUS = "bonus", _("Bonus")
    RESERVE = "reserve", _("Reserve")
    CAPTURE = "capture", _("Capture")
    RELEASE = "release", _("Release")
    REFUND = "refund", _("Refund")
    REFUND_REVERSAL = "refund_reversal", _("Refund reversal")
    ADJUSTMENT = "adjustment", _("Adjustment")


class LedgerEntry(models.Model):
    """An append-only record of one change to an account.

    ``amount`` changes the balance (signed), ``reserved_delta`` changes the
    reservation (signed); a reserve is ``amount=0, reserved_delta=+N``, a capture
    ``amount=-charged, reserved_delta=-reserved_for_ref``. ``idempotency_key`` is
    unique per account, so a repeated call can find and return its first result.
    Rows are never updated or deleted: a correction is a new entry.
    """

    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    amount = models.BigIntegerField(default=0)
    reserved_delta = models.BigIntegerField(default=0)
    balance_after = models.BigIntegerField()
    reserved_after = models.BigIntegerField()
    ref = models.CharField(max_length=100, blank=True, db_index=True)
    order = models.ForeignKey(
        "billing.PaymentOrder",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(max_length=500, blank=True)
    # Credits a refund could not take back because they were already spent.
    shortfall = models.BigIntegerField(default=0)
    idempotency_key = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "idempotency_key"], name="ledger_key_unique_per_account"
            ),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_balance_gte_0"),
            models.CheckConstraint(
                condition=Q(reserved_after__gte=0) & Q(reserved_after__lte=F("balance_after")),
                name="ledger_reserved_within_balance",
            ),
            models.CheckConstraint(condition=Q(shortfall__gte=0), name="ledger_shortfall_gte_0"),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in EntryKind]), name="ledger_kind_valid"
            ),
        ]
        indexes = [models.Index(fields=["account", "ref"], name="ledger_account_ref")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d} ({self.ref or self.idempotency_key})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None or not self._state.adding:
            raise ValueError("Ledger entries are append-only; write a new entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValueError("Ledger entries are append-only and are never deleted.")


class SignupBonusClaim(models.Model):
    """An email address that has had its sign-up bonus, remembered as a keyed hash
    of its canonical form (``accounts.services.email_digest``), not the address, so
    that it outlives the erasure of its account: the bonus is once per address ever,
    and once per account (one claim each). Rows are never deleted."""

    address_digest = models.CharField(max_length=64, unique=True)
    account = models.OneToOneField(
        CreditAccount, on_delete=models.PROTECT, related_name="signup_bonus_claim"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.address_digest[:12]}… -> account {self.account_id}"


class CreditPackage(models.Model):
    """A product on sale: so many credits, at a price per currency."""

    name = models.CharField(max_length=100)
    credits = models.PositiveIntegerField()
    active = models.BooleanField(default=True)
    ordering = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ordering", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(credits__gt=0), name="package_credits_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.credits} credits)"


class PackagePrice(models.Model):
    """A package's price in one currency, in minor units (fen, cents)."""

    package = models.ForeignKey(CreditPackage, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3, help_text="ISO 4217, upper case (CNY, USD...)")
    amount = models.PositiveIntegerField(help_text="Minor units: fen, cents.")

    class Meta:
        ordering = ["currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["package", "currency"], name="package_price_unique_currency"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="package_price_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.currency = self.currency.upper()
        super().save(*args, **kwargs)


class Provider(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    WECHAT = "wechat", "WeChat Pay"


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")
    REFUNDED = "refunded", _("Refunded")


class PaymentOrder(models.Model):
    """One attempt to buy a package. Money fields are copied from the package at
    creation and never change; ``status`` moves only by conditional updates in
    ``billing.services`` (pending -> paid|failed|canceled, paid -> refunded)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payment_orders"
    )
    provider = models.CharField(max_length=8, choices=Provider.choices)
    package = models.ForeignKey(CreditPackage, on_delete=models.PROTECT, related_name="orders")
    credits = models.PositiveIntegerField()
    amount = models.PositiveIntegerField(help_text="Minor units.")
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=10, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    trade_type = models.CharField(max_length=10, blank=True)
    # Stripe Checkout Session id; WeChat orders are known by out_trade_no (our id).
    provider_session_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # Stripe PaymentIntent id or WeChat transaction_id, once paid.
    provider_payment_id = models.CharField(max_length=255, blank=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    code_url = models.CharField(max_length=500, blank=True)
    h5_url = models.URLField(max_length=2000, blank=True)
    jsapi_params = models.JSONField(null=True, blank=True)
    payer_openid = models.CharField(max_length=128, blank=True)
    # NULL, not "", so that orders created without the header never collide.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    failure_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], name="order_idempotency_key_per_user"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in OrderStatus]), name="order_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(provider__in=[p.value for p in Provider]), name="order_provider_valid"
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(credits__gt=0), name="order_amount_credits_gt_0"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="order_status_created"),
            # Support finds a payment by the provider's id (PaymentIntent, transaction_id).
            models.Index(fields=["provider_payment_id"], name="order_provider_payment_id"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.id} ({self.status})"

    @property
    def out_trade_no(self) -> str:
        """WeChat wants 6-32 characters of [0-9A-Za-z_-*]: the id's 32 hex digits."""
        return self.id.hex


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class PaymentRefund(models.Model):
    """Money returned for a paid order: one row per refund at the provider, full or
    partial, requested by staff or made at the provider and learnt from its notice.

    ``credits`` is this refund's share of the order's credits (in proportion to the
    money, rounded up over the order's refunds so far); ``credits_taken`` is what
    the ledger could take back, the rest having been spent already. They are taken
    when the refund is recorded, so they cannot be spent while it is pending, and
    given back if the provider reports it failed. ``out_refund_no`` is our key at
    the provider (WeChat's ``out_refund_no``, Stripe's idempotency key), so asking
    twice refunds once; ``provider_refund_id`` is theirs (``re_...``, ``refund_id``).
    Failed refunds do not count towards the order's refunded amount.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(PaymentOrder, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveIntegerField(help_text="Minor units.")
    credits = models.PositiveIntegerField(default=0)
    credits_taken = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    out_refund_no = models.CharField(max_length=64, unique=True)
    provider_refund_id = models.CharField(max_length=255, blank=True)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(credits_taken__lte=F("credits")), name="refund_taken_lte_credits"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in RefundStatus]), name="refund_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["provider_refund_id"], name="refund_provider_id"),
        ]

    def __str__(self) -> str:
        return f"refund {self.amount} of {self.order_id} ({self.status})"


class EventStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored")
    FAILED = "failed", _("Failed")


class ProviderEvent(models.Model):
    """A verified notification, stored as received before it is processed, so a
    failure keeps its payload and error for ``replay_events``. Unique per provider
    id: a duplicate delivery finds the row and is processed at most once."""

    provider = models.CharField(max_length=8, choices=Provider.choices)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100)
    payload = models.JSONField()
    headers = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=EventStatus.choices, default=EventStatus.RECEIVED
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    order = models.ForeignKey(
        PaymentOrder, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="provider_event_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"
