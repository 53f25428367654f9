"""allauth adapters: where allauth's flows meet our user model and rules.

- Emails link to the web console, not to allauth's own pages, and are written
  in the recipient's language (their account's ``locale``).
- A social sign-up takes the request's region and runs the sign-up hooks in
  the transaction that creates the user (``accounts.services`` opens it).
- Provider apps: one rule. When a provider is configured in the environment
  (``GOOGLE_CLIENT_ID``, ``WECHAT_APP_ID``), that app is the one used and any
  admin-edited ``SocialApp`` of the same provider is ignored; otherwise the
  admin's ``SocialApp`` rows (Social applications) are used.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from django import db
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts import hooks
from accounts.i18n import django_language, locale_tag
from accounts.models import User
from accounts.regions import region_for_request
from accounts.staff import is_staff_page
from config.client_address import client_ip


class AccountAdapter(DefaultAccountAdapter):
    """The API's sign-in has no pages; the staff's admin sign-in (``/staff/``,
    ``accounts.staff``) is allauth's HTML flow and keeps its messages and redirects."""

    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": _(
            "Too many failed sign-in attempts for this account or from this address: "
            "signing in is locked for a few minutes. Try again later."
        ),
    }

    def get_email_confirmation_url(self, request: HttpRequest, emailconfirmation: Any) -> str:
        return settings.ACCOUNTS_VERIFY_EMAIL_URL.format(key=quote(emailconfirmation.key))

    def get_reset_password_from_key_url(self, key: str) -> str:
        return settings.ACCOUNTS_RESET_PASSWORD_URL.format(key=quote(key))

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        user = context.get("user")
        locale = getattr(user, "locale", None) or translation.get_language()
        with translation.override(django_language(locale)):
            super().send_mail(template_prefix, email, context)

    def authenticate(self, request: HttpRequest, **credentials: Any) -> Any:
        """allauth's, which counts a try against the failed sign-in limit before it
        checks the password; a try that failed because the database could not
        answer is no failed sign-in, so it is given back before the error (503)
        goes on. Only a wrong password (or unknown address) stays counted."""
        try:
            return super().authenticate(request, **credentials)
        except db.Error:
            self._rollback_login_failed_rl_usage()
            raise

    def get_client_ip(self, request: HttpRequest) -> str:
        # allauth's own rate limits must key on the same address our throttles do.
        return client_ip(request) or "0.0.0.0"  # noqa: S104

    def add_message(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        # An API has no page to flash messages on; storing them would only write sessions.
        if is_staff_page(request):
            super().add_message(request, *args, **kwargs)

    def respond_user_inactive(self, request: HttpRequest, user: Any) -> HttpResponse:
        if is_staff_page(request):
            return super().respond_user_inactive(request, user)
        # allauth would redirect to its own page; the service turns this into a 403.
        return HttpResponseForbidden()

    def respond_email_verification_sent(self, request: HttpRequest, user: Any) -> HttpResponse:
        return HttpResponse(status=202)

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        if is_staff_page(request):
            return reverse("admin:index")
        return settings.FRONTEND_URL

    def get_logout_redirect_url(self, request: HttpRequest) -> str:
        return reverse("account_login")

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        return settings.FRONTEND_URL


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(
        self, request: HttpRequest | None, provider: str | None = None, client_id: str | None = None
    ) -> list[SocialApp]:
        apps = super().list_apps(request, provider=provider, client_id=client_id)
        from_settings = {
            p for p, cfg in settings.SOCIALACCOUNT_PROVIDERS.items() if cfg.get("APPS")
        }
        return [a for a in apps if a.provider not in from_settings or a.pk is None]

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: dict) -> User:
        user: User = super().populate_user(request, sociallogin, data)
        # Our email is NULL when absent: "" would collide between WeChat-only users.
        user.email = (user.email or "").lower() or None
        extra = sociallogin.account.extra_data or {}
        name = data.get("name") or extra.get("name") or extra.get("nickname") or ""
        user.display_name = name[:150]
        avatar = extra.get("picture") or extra.get("headimgurl") or ""
        user.avatar_url = avatar if len(avatar) <= 1000 else ""
        user.region = region_for_request(request)
        user.locale = locale_tag(translation.get_language() or settings.LANGUAGE_CODE)
        return user

    def save_user(self, request: HttpRequest, sociallogin: SocialLogin, form: Any = None) -> User:
        user: User = super().save_user(request, sociallogin, form=form)
        hooks.run_signup_hooks(user)
        sociallogin.state["created"] = True
        return user

    def validate_disconnect(self, account: Any, accounts: QuerySet[Any]) -> None:
        # allauth keeps a last provider only for accounts without a usable
        # password; a password is no way in without an email to sign in with.
        if not accounts.exclude(pk=account.pk).exists() and not account.user.email:
            raise ValidationError("No email address to sign in with.", code="no_email")

    def get_connect_redirect_url(self, request: HttpRequest, socialaccount: Any) -> str:
        return settings.FRONTEND_URL
