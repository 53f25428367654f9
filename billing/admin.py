"""What support staff see and may do. Money records are read-only; every change
goes through a service (refund, adjustment) and leaves a ledger entry."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from accounts.authentication import signed_in_user
from billing import services
from billing.models import (
    CreditAccount,
    CreditPackage,
    LedgerEntry,
    PackagePrice,
    PaymentOrder,
    PaymentRefund,
    ProviderEvent,
)
from billing.services.notifications import STRIPE_EVENTS, WECHAT_REFUND_EVENTS
from config import admin_actions
from config.admin_actions import ReasonForm
from config.pagination import CappedCountPaginator


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


_REFUND_FIELDS = ("amount", "credits", "credits_taken", "status", "out_refund_no", "created_at")


class PaymentRefundInline(admin.TabularInline):
    model = PaymentRefund
    fields = _REFUND_FIELDS
    readonly_fields = _REFUND_FIELDS
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PackagePriceInline(admin.TabularInline):
    model = PackagePrice
    extra = 1


@admin.register(CreditPackage)
class CreditPackageAdmin(admin.ModelAdmin):
    list_display = ["name", "credits", "active", "ordering", "price_list"]
    list_editable = ["active", "ordering"]
    list_filter = ["active"]
    inlines = [PackagePriceInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CreditPackage]:
        return super().get_queryset(request).prefetch_related("prices")

    @admin.display(description="prices")
    def price_list(self, obj: CreditPackage) -> str:
        return ", ".join(f"{p.amount} {p.currency}" for p in obj.prices.all())


class AdjustCreditsForm(ReasonForm):
    amount = forms.IntegerField(help_text="Positive grants, negative takes back.")
    key = forms.CharField(widget=forms.HiddenInput, max_length=32)
    field_order = ["amount", "reason", "key"]

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("The amount must not be 0.")
        return amount


@admin.register(CreditAccount)
class CreditAccountAdmin(ReadOnlyAdmin):
    list_display = ["user", "balance", "reserved", "available", "updated_at", "customer"]
    list_select_related = ["user"]
    search_fields = ["user__email", "=user__id"]
    readonly_fields = ["customer", "user", "balance", "reserved", "updated_at"]
    actions = ["adjust_credits"]

    @admin.display(description="customer")
    def customer(self, obj: CreditAccount) -> str:
        return admin_actions.customer_link(obj.user_id)

    def has_adjust_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.adjust_creditaccount")

    @admin.action(description="Adjust credits (with a reason)", permissions=["adjust"])
    def adjust_credits(
        self, request: HttpRequest, queryset: QuerySet[CreditAccount]
    ) -> HttpResponse | None:
        accounts = list(queryset.select_related("user").order_by("pk"))
        form, page = admin_actions.confirm(
            self,
            request,
            accounts,
            form_class=AdjustCreditsForm,
            title="Adjust credits",
            intro="Each account below receives the same adjustment, written as a ledger "
            "entry with your name and reason.",
            lines=[f"{a.user}: balance {a.balance}, reserved {a.reserved}" for a in accounts],
        )
        if form is None:
            return page
        amount, reason = form.cleaned_data["amount"], form.cleaned_data["reason"]
        return admin_actions.apply_each(
            self,
            request,
            accounts,
            lambda account: services.adjust(
                account.user,
                amount,
                reason=reason,
                key=f"admin-adjust:{form.cleaned_data['key']}:{account.pk}",
                staff=signed_in_user(request),
            ),
            done=f"Adjusted credits by {amount:+d}",
            reason=reason,
            owner=lambda account: account.user,
        )


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "account",
        "kind",
        "amount",
        "reserved_delta",
        "balance_after",
        "ref",
        "shortfall",
        "created_at",
        "customer",
    ]
    list_filter = ["kind", "created_at"]
    list_select_related = ["account"]
    search_fields = ["=ref", "=idempotency_key", "account__user__email"]
    raw_id_fields = ["account", "order", "staff"]
    readonly_fields = ["customer"]
    paginator = CappedCountPaginator

    @admin.display(description="customer")
    def customer(self, obj: LedgerEntry) -> str:
        return admin_actions.customer_link(obj.account.user_id)


@admin.register(PaymentOrder)
class PaymentOrderAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "user",
        "provider",
        "status",
        "credits",
        "amount",
        "currency",
        "created_at",
        "paid_at",
        "customer",
    ]
    list_filter = ["provider", "status", "trade_type", "created_at"]
    list_select_related = ["user", "package"]
    search_fields = ["=id", "user__email", "=provider_session_id", "=provider_payment_id"]
    show_full_result_count = False
    date_hierarchy = "created_at"
    inlines = [PaymentRefundInline]
    actions = ["refund"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["customer", *(f.name for f in PaymentOrder._meta.fields)]

    @admin.display(description="customer")
    def customer(self, obj: PaymentOrder) -> str:
        return admin_actions.customer_link(obj.user_id)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.refund_paymentorder")

    @admin.action(
        description="Refund at the provider and take the credits back", permissions=["refund"]
    )
    def refund(self, request: HttpRequest, queryset: QuerySet[PaymentOrder]) -> HttpResponse | None:
        orders = list(queryset.select_related("user").order_by("pk"))
        form, page = admin_actions.confirm(
            self,
            request,
            orders,
            title="Refund payments",
            intro="What is left of each payment below goes back to the payer at the "
            "provider, and its credits are taken back as far as they are unspent.",
            lines=[f"{o.pk}: {o.amount} {o.currency}, {o.credits} credits" for o in orders],
        )
        if form is None:
            return page
        reason = form.cleaned_data["reason"]

        def refund(order: PaymentOrder) -> str:
            row = services.refund_order(order, staff=signed_in_user(request), reason=reason)
            spent = row.credits - row.credits_taken
            return f"refund {row.status}" + (f", {spent} credits already spent" if spent else "")

        return admin_actions.apply_each(
            self,
            request,
            orders,
            refund,
            done="Refunded",
            reason=reason,
            owner=lambda order: order.user,
        )


@admin.register(PaymentRefund)
class PaymentRefundAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "order",
        "amount",
        "credits",
        "credits_taken",
        "status",
        "staff",
        "created_at",
        "settled_at",
        "customer",
    ]
    list_filter = ["status", "order__provider", "created_at"]
    list_select_related = ["order", "staff"]
    search_fields = ["=id", "=order__id", "=out_refund_no", "=provider_refund_id"]
    raw_id_fields = ["order", "staff"]
    readonly_fields = ["customer"]

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # The customer page links here filtered to one customer.
        return lookup == "order__user__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description="customer")
    def customer(self, obj: PaymentRefund) -> str:
        return admin_actions.customer_link(obj.order.user_id)


class EventTypeFilter(admin.SimpleListFilter):
    """The event types we handle, from the fixed lists: no DISTINCT scan of the events."""

    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        kinds = [*sorted(STRIPE_EVENTS), "TRANSACTION.SUCCESS", *sorted(WECHAT_REFUND_EVENTS)]
        return [(kind, kind) for kind in kinds]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(event_type=value) if value else queryset


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "provider", "event_type", "status", "attempts", "received_at"]
    list_filter = ["provider", "status", EventTypeFilter]
    paginator = CappedCountPaginator
    search_fields = ["=event_id", "=order__id"]
    raw_id_fields = ["order"]
    actions = ["replay"]

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.replay_providerevent")

    @admin.action(description="Replay (failed events only run again)", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[ProviderEvent]) -> None:
        results = services.replay_events(failed_only=False, ids=[e.pk for e in queryset])
        self.message_user(
            request, ", ".join(f"{pk}: {status}" for pk, status in results.items()) or "Nothing."
        )
