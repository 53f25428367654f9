"""Support's own admin pages, on ``admin.site`` (``config.support.site``).

- **The customer page** (``/admin/support/customer/<user id>/``): one page that
  answers "where are my credits, where is my video": balance, reserved and
  available; the latest ledger entries, jobs, payments with their refunds, and
  files; sign-in providers and sign-up region; the support history; the actions
  the viewer may take. Each list shows its newest rows and links to its
  changelist filtered to this customer. Its queries are a fixed number (tested),
  whatever the customer has.
- **The search box** (``/admin/support/search/?q=``): an email, a user, job,
  payment, refund or file id, a DashScope task id, a Stripe Checkout Session or
  PaymentIntent id, a WeChat Pay ``out_trade_no`` or ``transaction_id``, a
  provider's refund id, a WeChat openid or Google account id: one match opens
  its page at once; several are listed.

Both only read, and only what the viewer's permissions let them view. Changes
go through the models' admin actions (``config.admin_actions``), which the
customer page posts to, and which come back here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from allauth.socialaccount.models import SocialAccount
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.models import Region, User
from animations.models import AnimationTask, Status
from billing.models import (
    CreditAccount,
    LedgerEntry,
    OrderStatus,
    PaymentOrder,
    PaymentRefund,
    Provider,
)
from storage import services as storage
from storage.models import File

LATEST = 10  # rows per list; the rest is one click away, in the filtered changelist


def _site() -> Any:
    from django.contrib import admin

    return admin.site


def _url(name: str, *args: Any, query: str = "") -> str:
    return reverse(f"admin:{name}", args=args) + (f"?{query}" if query else "")


# The customer page -------------------------------------------------------------


@dataclass
class TaskRow:
    task: AnimationTask
    cost: int
    play_url: str
    can_retry: bool
    can_cancel: bool


@dataclass
class FileRow:
    file: File
    open_url: str


def customer(request: HttpRequest, user_id: uuid.UUID) -> HttpResponse:
    """Everything support needs about one customer, in one page."""
    if not request.user.has_perm("accounts.view_user"):
        raise PermissionDenied
    user = get_object_or_404(
        User.objects.prefetch_related(
            "emailaddress_set",
            Prefetch("socialaccount_set", queryset=SocialAccount.objects.order_by("provider")),
        ),
        pk=user_id,
    )
    superuser = request.user.is_superuser
    perms = set() if superuser else request.user.get_all_permissions()
    account = CreditAccount.objects.filter(user=user).first()
    entries = (
        list(LedgerEntry.objects.filter(account=account).select_related("staff")[:LATEST])
        if account is not None
        else []
    )
    tasks = list(
        AnimationTask.objects.filter(user=user)
        .select_related("result")
        .defer("provider_responses", "result__sha256")
        .order_by("-created_at")[:LATEST]
    )
    orders = list(
        PaymentOrder.objects.filter(user=user)
        .select_related("package")
        .prefetch_related(
            Prefetch(
                "refunds",
                queryset=PaymentRefund.objects.select_related("staff").order_by("-created_at"),
            )
        )
        .order_by("-created_at")[:LATEST]
    )
    files = list(File.objects.filter(owner=user).order_by("-created_at")[:LATEST])
    stored = File.objects.filter(owner=user, deleted_at__isnull=True).aggregate(
        count=Count("pk"), size=Sum("size")
    )
    history = list(
        LogEntry.objects.filter(
            content_type__app_label="accounts",
            content_type__model="user",
            object_id=str(user.pk),
        )
        .select_related("user")
        .order_by("-action_time")[:LATEST]
    )

    def may(perm: str) -> bool:
        return superuser or perm in perms

    here = request.get_full_path()
    has_password = user.has_usable_password()
    context = {
        **_site().each_context(request),
        "title": f"Customer: {user}",
        "customer": user,
        "region": Region(user.region).label if user.region in Region.values else user.region,
        "has_password": has_password,
        "emails": list(user.emailaddress_set.all()),
        "socials": list(user.socialaccount_set.all()),
        "account": account,
        "entries": entries,
        "task_rows": [
            TaskRow(
                task=t,
                cost=t.credits_charged if t.status == Status.SUCCEEDED else t.open_credits,
                play_url=storage.signed_url(t.result, expires_in=900)
                if t.result is not None and t.result.purged_at is None
                else "",
                can_retry=t.status in (Status.FAILED, Status.CANCELED),
                can_cancel=t.status in (Status.QUEUED, Status.SUBMITTED),
            )
            for t in tasks
        ],
        "orders": orders,
        "paid": OrderStatus.PAID,
        "stripe": Provider.STRIPE,
        "file_rows": [
            FileRow(
                file=f,
                open_url=storage.signed_url(f, expires_in=900) if f.purged_at is None else "",
            )
            for f in files
        ],
        "stored": stored,
        "history": history,
        "next": here,
        "may": {
            "adjust": may("billing.adjust_creditaccount") and account is not None,
            "refund": may("billing.refund_paymentorder"),
            "retry": may("animations.retry_animationtask"),
            "cancel": may("animations.cancel_animationtask"),
            "resend": may("accounts.resend_verification_user"),
            "sign_out": may("accounts.sign_out_user"),
            "deactivate": may("accounts.deactivate_user") and user.is_active,
            "edit_user": may("accounts.change_user"),
        },
        "links": {
            "user": _url("accounts_user_change", user.pk),
            "history": _url("accounts_user_history", user.pk),
            "users": _url("accounts_user_changelist"),
            "account": _url("billing_creditaccount_change", account.pk) if account else "",
            "accounts": _url("billing_creditaccount_changelist"),
            "ledger": _url(
                "billing_ledgerentry_changelist",
                query=f"account__id__exact={account.pk if account else 0}",
            ),
            "tasks": _url(
                "animations_animationtask_changelist", query=f"user__id__exact={user.pk}"
            ),
            "orders": _url("billing_paymentorder_changelist", query=f"user__id__exact={user.pk}"),
            "refunds": _url(
                "billing_paymentrefund_changelist", query=f"order__user__id__exact={user.pk}"
            ),
            "files": _url("storage_file_changelist", query=f"owner__id__exact={user.pk}"),
        },
    }
    return TemplateResponse(request, "admin/support/customer.html", context)


# The search box ----------------------------------------------------------------


@dataclass
class Hit:
    what: str
    label: str
    url: str


def find(query: str) -> list[Hit]:
    """Every object this exact key names. Each lookup is on a unique or indexed
    column, and only the lookups the key's shape allows are run."""
    q = query.strip()
    hits: list[Hit] = []
    if not q:
        return hits
    if "@" in q:
        users = User.objects.filter(Q(email__iexact=q) | Q(emailaddress__email__iexact=q))
        for user in users.distinct()[:20]:
            hits.append(Hit("Customer", str(user), _url("support_customer", user.pk)))
        return hits
    try:
        key = uuid.UUID(q)
    except ValueError:
        key = None
    if key is not None:
        # A 32-digit key is also a WeChat out_trade_no: the payment's id in hex.
        for user in User.objects.filter(pk=key):
            hits.append(Hit("Customer", str(user), _url("support_customer", user.pk)))
        for task in AnimationTask.objects.filter(pk=key).select_related("user"):
            hits.append(
                Hit(
                    "Job",
                    f"{task} of {task.user}",
                    _url("animations_animationtask_change", task.pk),
                )
            )
        for order in PaymentOrder.objects.filter(pk=key).select_related("user"):
            hits.append(
                Hit(
                    "Payment",
                    f"{order} of {order.user}",
                    _url("billing_paymentorder_change", order.pk),
                )
            )
        for refund in PaymentRefund.objects.filter(pk=key):
            hits.append(Hit("Refund", str(refund), _url("billing_paymentrefund_change", refund.pk)))
        for file in File.objects.filter(pk=key).select_related("owner"):
            hits.append(
                Hit("File", f"{file.kind} of {file.owner}", _url("storage_file_change", file.pk))
            )
    for task in AnimationTask.objects.filter(provider_task_id=q).select_related("user"):
        hits.append(
            Hit(
                "Job (DashScope task id)",
                f"{task} of {task.user}",
                _url("animations_animationtask_change", task.pk),
            )
        )
    orders = PaymentOrder.objects.filter(Q(provider_session_id=q) | Q(provider_payment_id=q))
    for order in orders.select_related("user"):
        which = (
            "Stripe Checkout Session"
            if order.provider_session_id == q
            else "Stripe PaymentIntent"
            if order.provider == Provider.STRIPE
            else "WeChat Pay transaction_id"
        )
        hits.append(
            Hit(
                f"Payment ({which})",
                f"{order} of {order.user}",
                _url("billing_paymentorder_change", order.pk),
            )
        )
    refunds = PaymentRefund.objects.filter(Q(out_refund_no=q) | Q(provider_refund_id=q))
    for refund in refunds:
        hits.append(Hit("Refund", str(refund), _url("billing_paymentrefund_change", refund.pk)))
    socials = SocialAccount.objects.filter(provider__in=["google", "weixin"], uid=q).select_related(
        "user"
    )
    for social in socials:
        hits.append(
            Hit(
                f"Customer ({social.provider} account)",
                str(social.user),
                _url("support_customer", social.user_id),
            )
        )
    return hits


def search(request: HttpRequest) -> HttpResponse:
    """One box for every key a customer or a provider may quote."""
    if not request.user.has_perm("accounts.view_user"):
        raise PermissionDenied
    query = request.GET.get("q", "").strip()
    hits = find(query)
    if len(hits) == 1:
        return HttpResponseRedirect(hits[0].url)
    return TemplateResponse(
        request,
        "admin/support/search.html",
        {**_site().each_context(request), "title": "Search", "query": query, "hits": hits},
    )
