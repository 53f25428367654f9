"""Staff sign-in for the admin: allauth's own login and MFA pages, for staff only.

The admin's login view sends everyone to allauth's login
(``allauth.account.decorators.secure_admin_login``), so allauth's failed-login
limits (``ACCOUNT_RATE_LIMITS["login_failed"]``: per client address and per
account, shared with the API's sign-in) and its MFA stage (an authenticator
code or a recovery code after the password) apply to the admin. These are the
only HTML account pages we serve (``urlpatterns``, under ``/staff/``); customers
sign in through the API.

With ``ADMIN_REQUIRE_MFA`` on, ``admin_mfa_response`` keeps staff out of every
admin page until they have set up an authenticator app, and sends back to the
login a session that signed in without the code it now needs.
"""

from __future__ import annotations

from collections.abc import Callable

from allauth.account.adapter import get_adapter
from allauth.account.decorators import secure_admin_login
from allauth.account.forms import LoginForm
from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.views import account_inactive, login, logout, reauthenticate
from allauth.mfa.base import views as mfa_views
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes import views as recovery_views
from allauth.mfa.totp import views as totp_views
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.http import urlencode

STAFF_PREFIX = "/staff/"


def is_staff_page(request: HttpRequest) -> bool:
    """True for the staff's HTML sign-in pages (the API has no pages)."""
    return request.path_info.startswith(STAFF_PREFIX)


class StaffLoginForm(LoginForm):
    """allauth's login form, for staff only: a customer's right password gets the
    same answer as a wrong one, so the page tells nobody who is staff."""

    def clean(self) -> dict:
        cleaned = super().clean()
        user = getattr(self, "user", None)
        if user is not None and not (user.is_staff and user.is_active):
            raise get_adapter(self.request).validation_error("email_password_mismatch")
        return cleaned


def admin_login(site_login: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap the admin's login view: anyone not yet signed in as staff goes through
    allauth's login (``secure_admin_login``); a signed-in non-staff session ends."""
    secured = secure_admin_login(site_login)

    def view(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.user.is_authenticated and not (request.user.is_staff and request.user.is_active):
            auth_logout(request)
        return secured(request, extra_context)

    return view


def mfa_satisfied(request: HttpRequest) -> tuple[bool, bool]:
    """``(enrolled, proved)`` for the signed-in staff member: an authenticator app
    is set up, and this session used it (the MFA stage of the sign-in), or set it
    up (which took a fresh password and a code)."""
    totp = Authenticator.objects.filter(user=request.user, type=Authenticator.Type.TOTP).first()
    if totp is None:
        return False, False
    records = get_authentication_records(request, request.user)
    if any(record.get("method") == "mfa" for record in records):
        return True, True
    signed_in_at = min((record.get("at", 0.0) for record in records), default=None)
    return True, signed_in_at is not None and totp.created_at.timestamp() >= signed_in_at


def admin_mfa_response(request: HttpRequest) -> HttpResponse | None:
    """Where staff must go first when ``ADMIN_REQUIRE_MFA`` is on, else None."""
    if not settings.ADMIN_REQUIRE_MFA:
        return None
    enrolled, proved = mfa_satisfied(request)
    if not enrolled:
        messages.warning(
            request,
            "The admin needs two-factor authentication. Scan the code with an "
            "authenticator app and enter the code it shows; then keep your recovery codes.",
        )
        return HttpResponseRedirect(
            reverse("mfa_activate_totp") + "?" + urlencode({"next": request.get_full_path()})
        )
    if not proved:
        auth_logout(request)
        messages.warning(request, "Sign in again with your authenticator code.")
        return redirect_to_login(request.get_full_path(), reverse("account_login"))
    return None


urlpatterns = [
    path("login/", login, name="account_login"),
    path("logout/", logout, name="account_logout"),
    path("inactive/", account_inactive, name="account_inactive"),
    path("reauthenticate/", reauthenticate, name="account_reauthenticate"),
    path("2fa/", mfa_views.index, name="mfa_index"),
    path("2fa/authenticate/", mfa_views.authenticate, name="mfa_authenticate"),
    path("2fa/reauthenticate/", mfa_views.reauthenticate, name="mfa_reauthenticate"),
    path("2fa/totp/activate/", totp_views.activate_totp, name="mfa_activate_totp"),
    path("2fa/totp/deactivate/", totp_views.deactivate_totp, name="mfa_deactivate_totp"),
    path("2fa/recovery-codes/", recovery_views.view_recovery_codes, name="mfa_view_recovery_codes"),
    path(
        "2fa/recovery-codes/generate/",
        recovery_views.generate_recovery_codes,
        name="mfa_generate_recovery_codes",
    ),
    path(
        "2fa/recovery-codes/download/",
        recovery_views.download_recovery_codes,
        name="mfa_download_recovery_codes",
    ),
]
