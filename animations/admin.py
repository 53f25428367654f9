"""What support staff see of animation tasks, and the actions they may take (each
calls a service, so the rules are the same as everywhere else)."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from animations import services
from animations.models import AnimationTask
from config.errors import DomainError


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
        "credits_refunded",
        "attempts",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "type", "mode", "region", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=id", "=provider_task_id", "user__email"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    ordering = ["-created_at"]
    actions = ["retry_tasks", "cancel_tasks", "refund_tasks", "repoll_tasks"]
    exclude = ["provider_responses"]
    readonly_fields = [
        f.name for f in AnimationTask._meta.fields if f.name != "provider_responses"
    ] + ["raw_provider_responses"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="user", ordering="user__email")
    def user_email(self, obj: AnimationTask) -> str:
        return obj.user.email or str(obj.user_id)

    @admin.display(description="provider responses (raw, newest last)")
    def raw_provider_responses(self, obj: AnimationTask) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.provider_responses, indent=2))

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[AnimationTask],
        action: Callable[[AnimationTask], object],
        verb: str,
    ) -> None:
        done, refused = 0, []
        for task in queryset.order_by("pk"):
            try:
                action(task)
                done += 1
            except DomainError as error:
                refused.append(f"{task.pk}: {error.code}")
        self.message_user(request, f"{verb} {done} task(s).", messages.SUCCESS)
        if refused:
            self.message_user(request, "Refused: " + "; ".join(refused), messages.WARNING)

    @admin.action(description="Retry (failed or canceled; reserves credits again)")
    def retry_tasks(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, services.retry_task, "Retried")

    @admin.action(description="Cancel (not yet running at the provider; releases credits)")
    def cancel_tasks(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, services.cancel_task, "Canceled")

    @admin.action(description="Refund the credits charged (succeeded tasks)")
    def refund_tasks(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda task: services.refund_task(task, staff=request.user, reason="admin refund"),
            "Refunded",
        )

    @admin.action(description="Poll the provider now")
    def repoll_tasks(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, services.repoll, "Re-polled")
