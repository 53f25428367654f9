"""Throttles of the sign-in endpoints: per client address and per account.

The account is the email a request names (register, login, password reset),
or the signed-in user: linking a provider (before the provider answers, an
anonymous social sign-in names no account of ours), or re-entering the
password to erase the account.

Rates are the scopes in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (see the
ACCOUNTS section of the settings), read at request time. The client address is
the platform's one rule (``config.throttling``). Over the limit, DRF answers
429 with ``Retry-After``.
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.views import APIView

from config.throttling import ClientAddressThrottle


class _Throttle(ClientAddressThrottle):
    def ident_for(self, request: Request) -> str | None:
        raise NotImplementedError

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        ident = self.ident_for(request)
        if not ident:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


class _PerIP(_Throttle):
    def ident_for(self, request: Request) -> str | None:
        return self.get_ident(request)


class _PerEmail(_Throttle):
    def ident_for(self, request: Request) -> str | None:
        email = request.data.get("email") if hasattr(request.data, "get") else None
        return email.strip().lower() if isinstance(email, str) and email.strip() else None


class _PerMailbox(_Throttle):
    """The mailbox the email names: ``a+1@`` and ``A.b@gmail`` count as ``a@``/``ab@``."""

    def ident_for(self, request: Request) -> str | None:
        from accounts.services import canonical_email

        # _PerEmail's reading of the address, borrowed: self is a sibling throttle.
        email = _PerEmail.ident_for(self, request)  # type: ignore[arg-type]
        return canonical_email(email) if email else None


class _PerUser(_Throttle):
    def ident_for(self, request: Request) -> str | None:
        user = request.user
        return str(user.pk) if user is not None and user.is_authenticated else None


class AuthIPThrottle(_PerIP):
    scope = "auth_ip"


class AuthAccountThrottle(_PerEmail):
    scope = "auth_account"


class RegisterIPThrottle(_PerIP):
    scope = "register_ip"


class RegisterAccountThrottle(_PerMailbox):
    """Sign-up attempts naming one address, whoever sends them: bounds how often a
    taken address can be probed (and its owner told), see ``services.register``."""

    scope = "register_account"


class PasswordResetIPThrottle(_PerIP):
    scope = "password_reset_ip"


class PasswordResetAccountThrottle(_PerEmail):
    scope = "password_reset_account"


class SocialIPThrottle(_PerIP):
    scope = "social_ip"


class SocialAccountThrottle(_PerUser):
    scope = "social_account"


class ReauthAccountThrottle(_PerUser):
    """Password re-checks of a signed-in account (erasure), at login's per-account rate."""

    scope = "auth_account"


class EmailResendThrottle(_PerUser):
    scope = "email_resend"
