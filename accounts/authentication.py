"""JWT authentication: simplejwt, plus the account's current state.

A valid signature and expiry are not enough: the user must still be active, not
erased, and the token's ``gen`` claim must equal the user's
``token_generation`` (bumped by "sign out everywhere", deactivation and
erasure), so access tokens die with the account, not only refresh tokens.
The user is read from the primary, so that holds from the moment it commits.

simplejwt's refusals carry a dict (``detail``, ``code``, ``messages``) that the
contract's error shape would spread over several error objects;
``contract_error`` turns them into the single ``{code, detail}`` a client
switches on.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication as _Base
from rest_framework_simplejwt.tokens import Token

from accounts.i18n import activate_for
from accounts.models import User
from config.db_router import use_primary


def contract_error(exc: exceptions.AuthenticationFailed) -> exceptions.AuthenticationFailed:
    """The same refusal with one message and one code."""
    if not isinstance(exc.detail, dict):
        return exc
    code = exc.detail.get("code")
    return exceptions.AuthenticationFailed(
        str(exc.detail.get("detail", exc.default_detail)),
        code=str(code) if code else exc.default_code,
    )


def check_token_user(user: User, token: Token) -> None:
    """Raise ``AuthenticationFailed`` unless ``token`` may still act for ``user``."""
    if not user.is_active or user.erased_at is not None:
        raise exceptions.AuthenticationFailed("This account is disabled.", code="user_inactive")
    if token.get("gen") != user.token_generation:
        raise exceptions.AuthenticationFailed("This token has been revoked.", code="token_revoked")


class JWTAuthentication(_Base):
    def authenticate(self, request: Request) -> tuple[User, Token] | None:
        try:
            result = super().authenticate(request)
        except exceptions.AuthenticationFailed as exc:
            raise contract_error(exc) from exc
        if result is not None:
            # Messages of this request are in the account's language.
            activate_for(request._request, result[0])
        return result

    def get_user(self, validated_token: Token) -> User:
        # A replica may lag behind a revocation by seconds; the primary never does.
        with use_primary():
            user = super().get_user(validated_token)
        check_token_user(user, validated_token)
        return user
