"""Issuing JWTs (simplejwt) with the claims the rest of the platform reads.

Claims beyond simplejwt's: ``region`` (the user's region), ``gen`` (the user's
``token_generation`` at issue: a token of an older generation is refused, which
is how "sign out everywhere" kills access tokens too), ``auth_time`` and
``amr`` (when and how the user last proved who they are; kept across refresh
rotation, so a refreshed token is not a fresh sign-in).
"""

from __future__ import annotations

import time
from typing import TypedDict

from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User


class TokenPair(TypedDict):
    access: str
    refresh: str


def issue_tokens(user: User, *, method: str, auth_time: int | None = None) -> TokenPair:
    """A refresh/access pair for ``user`` who signed in with ``method`` at
    ``auth_time`` (now, unless the tokens continue an earlier sign-in)."""
    refresh = RefreshToken.for_user(user)
    refresh["region"] = user.region
    refresh["gen"] = user.token_generation
    refresh["auth_time"] = int(time.time()) if auth_time is None else auth_time
    refresh["amr"] = method
    return {"access": str(refresh.access_token), "refresh": str(refresh)}
