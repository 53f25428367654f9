"""Support staff's view of stored files: filters, owner search, a signed link to look."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html

from accounts.models import Region
from config import admin_actions
from config.pagination import CappedCountPaginator
from storage import services
from storage.models import File


class OwnerRegionFilter(admin.SimpleListFilter):
    """The owner's region, from the fixed list: no DISTINCT scan of the files table."""

    title = "owner region"
    parameter_name = "owner__region"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(value, str(label)) for value, label in Region.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[File]) -> QuerySet[File]:
        value = self.value()
        return queryset.filter(owner__region=value) if value else queryset


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "owner_email",
        "kind",
        "backend",
        "human_size",
        "content_type",
        "dimensions",
        "duration",
        "created_at",
        "deleted_at",
        "view_link",
        "customer",
    ]
    list_filter = [
        "kind",
        "backend",
        OwnerRegionFilter,
        "created_at",
    ]
    search_fields = ["owner__email", "=id", "sha256"]
    list_select_related = ["owner"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ["-created_at"]
    readonly_fields = ["customer", *(f.name for f in File._meta.fields), "view_link"]

    actions = ["delete_selected_files"]

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        # Rows are never hard-deleted: tasks keep pointing at them.
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Delete selected files (objects removed, rows kept)")
    def delete_selected_files(self, request: HttpRequest, queryset: QuerySet[File]) -> None:
        ids = services.delete_files(queryset)
        self.message_user(request, f"Deleted {len(ids)} file(s); their objects are being removed.")

    def has_delete_permission(self, request: HttpRequest, obj: File | None = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: File | None = None) -> bool:
        return False

    @admin.display(description="owner", ordering="owner__email")
    def owner_email(self, obj: File) -> str:
        return obj.owner.email or str(obj.owner_id)

    @admin.display(description="customer")
    def customer(self, obj: File) -> str:
        return admin_actions.customer_link(obj.owner_id)

    @admin.display(description="size", ordering="size")
    def human_size(self, obj: File) -> str:
        return filesizeformat(obj.size)

    @admin.display(description="dimensions")
    def dimensions(self, obj: File) -> str:
        return f"{obj.width}x{obj.height}" if obj.width and obj.height else "-"

    @admin.display(description="view")
    def view_link(self, obj: File) -> str:
        if obj.purged_at is not None:
            return "purged"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">open</a>',
            services.signed_url(obj, expires_in=600),
        )
