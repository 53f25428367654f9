"""What support staff see of animation tasks, and the actions they may take (each
calls a service, so the rules are the same as everywhere else)."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

from accounts.authentication import signed_in_user
from accounts.models import Region
from animations import services
from animations.models import AnimationTask
from config import admin_actions
from config.pagination import CappedCountPaginator


class RegionFilter(admin.SimpleListFilter):
    """The task's region, from the fixed list: no DISTINCT scan of the tasks table."""

    title = "region"
    parameter_name = "region"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(value, str(label)) for value, label in Region.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(region=value) if value else queryset


@admin.register(AnimationTask)
class AnimationTaskAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "user_email",
        "type",
        "mode",
        "status",
        "provider_status",
        "region",
        "credits_reserved",
        "credits_charged",
        "credits_released",
        "attempts",
        "created_at",
        "finished_at",
        "customer",
    ]
    list_filter = [
        "status",
        "type",
        "mode",
        RegionFilter,
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["=id", "=provider_task_id", "user__email"]
    list_select_related = ["user"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ["-created_at"]
    actions = ["retry_tasks", "cancel_tasks", "refund_tasks", "repoll_tasks"]
    exclude = ["provider_responses"]
    readonly_fields = [
        f.name for f in AnimationTask._meta.fields if f.name != "provider_responses"
    ] + ["customer", "raw_provider_responses"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="user", ordering="user__email")
    def user_email(self, obj: AnimationTask) -> str:
        return obj.user.email or str(obj.user_id)

    @admin.display(description="customer")
    def customer(self, obj: AnimationTask) -> str:
        return admin_actions.customer_link(obj.user_id)

    @admin.display(description="provider responses (raw, newest last)")
    def raw_provider_responses(self, obj: AnimationTask) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.provider_responses, indent=2))

    def _with_reason(
        self,
        request: HttpRequest,
        queryset: QuerySet[AnimationTask],
        action: Callable[[AnimationTask], object],
        *,
        title: str,
        intro: str,
        done: str,
    ) -> HttpResponse | None:
        tasks = list(queryset.select_related("user").order_by("pk"))
        form, page = admin_actions.confirm(
            self,
            request,
            tasks,
            title=title,
            intro=intro,
            lines=[f"{t.pk}: {t.get_type_display()}, {t.status}, {t.user}" for t in tasks],
        )
        if form is None:
            return page
        return admin_actions.apply_each(
            self,
            request,
            tasks,
            action,
            done=done,
            reason=form.cleaned_data["reason"],
            owner=lambda task: task.user,
        )

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("animations.retry_animationtask")

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("animations.cancel_animationtask")

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("animations.refund_animationtask")

    def has_repoll_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("animations.repoll_animationtask")

    @admin.action(
        description="Retry (failed or canceled; reserves credits again)", permissions=["retry"]
    )
    def retry_tasks(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            services.retry_task,
            title="Retry jobs",
            intro="Each failed or canceled job below is queued again as a new run; its "
            "cost is reserved again from the customer's credits.",
            done="Retried",
        )

    @admin.action(
        description="Cancel (not yet running at the provider; releases credits)",
        permissions=["cancel"],
    )
    def cancel_tasks(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            services.cancel_task,
            title="Cancel jobs",
            intro="Each job below that the provider is not running yet is canceled and "
            "its reserved credits are released.",
            done="Canceled",
        )

    @admin.action(
        description="Refund the credits charged (succeeded tasks)", permissions=["refund"]
    )
    def refund_tasks(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        tasks = list(queryset.select_related("user").order_by("pk"))
        form, page = admin_actions.confirm(
            self,
            request,
            tasks,
            title="Refund job credits",
            intro="The credits charged for each succeeded job below go back to its "
            "customer, as a ledger adjustment with your name and reason (once per run).",
            lines=[f"{t.pk}: {t.credits_charged} credits charged, {t.user}" for t in tasks],
        )
        if form is None:
            return page
        reason = form.cleaned_data["reason"]
        return admin_actions.apply_each(
            self,
            request,
            tasks,
            lambda task: (
                f"{services.refund_task(task, staff=signed_in_user(request), reason=reason)} credits back"
            ),
            done="Refunded credits",
            reason=reason,
            owner=lambda task: task.user,
        )

    @admin.action(description="Poll the provider now", permissions=["repoll"])
    def repoll_tasks(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return admin_actions.apply_each(
            self,
            request,
            list(queryset.order_by("pk")),
            services.repoll,
            done="Polled the provider",
            reason="asked for the provider's state",
        )
