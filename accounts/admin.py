"""What support staff see of users, and the actions they may take (through services)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from accounts import services
from accounts.authentication import signed_in_user
from accounts.models import User
from config import admin_actions


class UserCreateForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class HttpsURLField(forms.URLField):
    """A URL typed without a scheme is taken as https (Django 6's default, today)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("assume_scheme", "https")
        super().__init__(**kwargs)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {"avatar_url": HttpsURLField}


class EmailAddressInline(admin.TabularInline):
    model = EmailAddress
    extra = 0
    fields = ("email", "verified", "primary")


class SocialAccountInline(admin.TabularInline):
    model = SocialAccount
    extra = 0
    fields = ("provider", "uid", "last_login", "date_joined")
    readonly_fields = ("provider", "uid", "last_login", "date_joined")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False


class ProviderFilter(admin.SimpleListFilter):
    title = "sign-in provider"
    parameter_name = "provider"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("password", "Email and password"), ("google", "Google"), ("weixin", "WeChat")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        value = self.value()
        if value == "password":
            return queryset.filter(emailaddress__isnull=False).exclude(
                password__startswith=UNUSABLE_PASSWORD_PREFIX
            )
        if value:
            return queryset.filter(socialaccount__provider=value).distinct()
        return queryset


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    add_form = UserCreateForm
    form = UserEditForm
    ordering = ("-date_joined",)
    list_display = (
        "email",
        "display_name",
        "region",
        "is_active",
        "is_staff",
        "date_joined",
        "customer",
    )
    list_filter = ("region", ProviderFilter, "is_active", "is_staff", "date_joined")
    search_fields = ("email", "display_name", "socialaccount__uid")
    show_full_result_count = False
    readonly_fields = ("customer", "date_joined", "last_login", "erased_at", "token_generation")
    inlines = [EmailAddressInline, SocialAccountInline]
    actions = ["resend_verification_email", "sign_out_everywhere", "deactivate"]
    fieldsets = (
        (None, {"fields": ("customer", "email", "password")}),
        ("Profile", {"fields": ("display_name", "avatar_url", "region", "locale")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined", "erased_at", "token_generation")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    @admin.display(description="customer")
    def customer(self, obj: User) -> str:
        return admin_actions.customer_link(obj.pk)

    def get_inlines(self, request: HttpRequest, obj: User | None) -> list:
        # A user being created has no addresses or social accounts yet.
        return self.inlines if obj is not None else []

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[User], search_term: str
    ) -> tuple[QuerySet[User], bool]:
        # Searching the social uid joins accounts; one row per user is what staff expect.
        results, _ = super().get_search_results(request, queryset, search_term)
        return results.distinct(), False

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            # Unticking "active" is a deactivation: ticking it again must not revive
            # the tokens issued before (the admin saves in one transaction).
            services.sign_out_everywhere(obj)

    def has_deactivate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.deactivate_user")

    def has_sign_out_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.sign_out_user")

    def has_resend_verification_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.resend_verification_user")

    def _with_reason(
        self,
        request: HttpRequest,
        queryset: QuerySet[User],
        action: Callable[[User], object],
        *,
        title: str,
        intro: str,
        done: str,
    ) -> HttpResponse | None:
        users = list(queryset.order_by("pk"))
        form, page = admin_actions.confirm(
            self, request, users, title=title, intro=intro, lines=[str(u) for u in users]
        )
        if form is None:
            return page
        return admin_actions.apply_each(
            self, request, users, action, done=done, reason=form.cleaned_data["reason"]
        )

    @admin.action(description="Deactivate (no sign-in, tokens revoked)", permissions=["deactivate"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            lambda user: services.deactivate(user, by=signed_in_user(request)),
            title="Deactivate accounts",
            intro="Each account below can no longer sign in, and every token it holds "
            "stops working at once.",
            done="Deactivated",
        )

    @admin.action(description="Sign out everywhere (revoke every token)", permissions=["sign_out"])
    def sign_out_everywhere(
        self, request: HttpRequest, queryset: QuerySet[User]
    ) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            services.sign_out_everywhere,
            title="Sign out everywhere",
            intro="Every token of each account below stops working; the customer signs "
            "in again with their password or provider.",
            done="Signed out everywhere",
        )

    @admin.action(description="Resend the verification email", permissions=["resend_verification"])
    def resend_verification_email(
        self, request: HttpRequest, queryset: QuerySet[User]
    ) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            lambda user: services.resend_verification_email(request, user).email,
            title="Resend the verification email",
            intro="Each account below is sent a new link to verify its email address.",
            done="Sent the verification email",
        )
