"""The admin site support staff use (``admin.site``; ``SupportAdminConfig`` installs it).

On top of Django's site: its login is allauth's (``accounts.staff``: failed-login
limits, MFA), every admin page checks the MFA rule when ``ADMIN_REQUIRE_MFA`` is
on, the index groups models the way support thinks of them, and two pages of
our own sit under ``/admin/support/``: the search box and the customer page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import URLPattern, URLResolver, path, reverse

from accounts import staff

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])

# (section, [(app_label, model_name, label)]); models not listed come last under "System".
SECTIONS: list[tuple[str, list[tuple[str, str, str]]]] = [
    (
        "Accounts",
        [
            ("accounts", "user", "Users (customers and staff)"),
            ("account", "emailaddress", "Email addresses"),
            ("socialaccount", "socialaccount", "Sign-in providers linked"),
            ("mfa", "authenticator", "Staff two-factor devices"),
            ("auth", "group", "Staff roles"),
        ],
    ),
    (
        "Credits and payments",
        [
            ("billing", "creditaccount", "Credit balances"),
            ("billing", "ledgerentry", "Credit ledger"),
            ("billing", "paymentorder", "Payments"),
            ("billing", "paymentrefund", "Refunds"),
            ("billing", "providerevent", "Payment notifications (Stripe, WeChat Pay)"),
            ("billing", "creditpackage", "Credit packages on sale"),
        ],
    ),
    ("Animations", [("animations", "animationtask", "Animation jobs")]),
    ("Files", [("storage", "file", "Uploaded and generated files")]),
    (
        "Sign-in setup",
        [
            ("socialaccount", "socialapp", "Google and WeChat apps"),
            ("socialaccount", "socialtoken", "Provider tokens"),
            ("sites", "site", "Sites"),
        ],
    ),
]


class SupportAdminSite(admin.AdminSite):
    site_header = "Animate support"
    site_title = "Animate support"
    index_title = "Support"
    index_template = "admin/support/index.html"

    # Read from the settings each time, never assigned: AdminSite declares a plain attribute.
    @property
    def site_url(self) -> str:  # type: ignore[override]  # "View site": the app customers use
        return settings.FRONTEND_URL

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return staff.admin_login(super().login)(request, extra_context)

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        protected = super().admin_view(view, cacheable)

        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if self.has_permission(request):
                detour = staff.admin_mfa_response(request)
                if detour is not None:
                    return detour
            return protected(request, *args, **kwargs)

        # inner takes and returns what view does (update_wrapper copies its name and doc).
        return cast(_View, update_wrapper(inner, view))

    def get_urls(self) -> list[URLPattern | URLResolver]:
        from config.support import admin as support_pages

        return [
            path(
                "support/search/",
                self.admin_view(support_pages.search),
                name="support_search",
            ),
            path(
                "support/customer/<uuid:user_id>/",
                self.admin_view(support_pages.customer),
                name="support_customer",
            ),
            *super().get_urls(),
        ]

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        if app_label is not None:
            return super().get_app_list(request, app_label)
        built = self._build_app_dict(request)
        entries = {
            (app["app_label"], m["object_name"].lower()): (app, m)
            for app in built.values()
            for m in app["models"]
        }
        sections = []
        for name, wanted in SECTIONS:
            models = []
            for app_label_, model_name, label in wanted:
                found = entries.pop((app_label_, model_name), None)
                if found is not None:
                    models.append({**found[1], "name": label})
            if models:
                sections.append(self._section(name, models))
        rest = sorted((m for _app, m in entries.values()), key=lambda m: m["name"])
        if rest:
            sections.append(self._section("System", rest))
        return sections

    def _section(self, name: str, models: list[dict]) -> dict:
        label = models[0]["model"]._meta.app_label
        return {
            "name": name,
            "app_label": label,
            "app_url": reverse(
                "admin:app_list", kwargs={"app_label": label}, current_app=self.name
            ),
            "has_module_perms": True,
            "models": models,
        }
