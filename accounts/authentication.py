"""JWT authentication: simplejwt, plus the account's current state.

A valid signature and expiry are not enough: the user must still be active, not
erased, and the token's ``gen`` claim must equal the user's
``token_generation`` (bumped by "sign out everywhere", deactivation and
erasure), so access tokens die with the account, not only refresh tokens.
"""

from __future__ import annotations

from rest_framework_simplejwt.authentication import JWTAuthentication as _Base
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.tokens import Token

from accounts.models import User


def check_token_user(user: User, token: Token) -> None:
    """Raise ``AuthenticationFailed`` unless ``token`` may still act for ``user``."""
    if not user.is_active or user.erased_at is not None:
        raise AuthenticationFailed("This account is disabled.", code="user_inactive")
    if token.get("gen") != user.token_generation:
        raise AuthenticationFailed("This token has been revoked.", code="token_revoked")


class JWTAuthentication(_Base):
    def get_user(self, validated_token: Token) -> User:
        user = super().get_user(validated_token)
        check_token_user(user, validated_token)
        return user
