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

import functools
import uuid
from dataclasses import dataclass
from typing import Any, Protocol, cast

from django.conf import settings
from django.db import connections, router
from django.http import HttpRequest
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication as _Base
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from accounts.i18n import activate_for
from accounts.models import User
from config import rows
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


def signed_in_user(request: HttpRequest | Request) -> User:
    """The account of a request that authentication and ``IsAuthenticated`` (or the
    admin's staff check) let through: ``request.user`` typed as a ``User``, never
    ``AnonymousUser``. A view that lets anonymous requests in must not call it."""
    user = request.user
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated()
    return user


def access_token(request: Request) -> Token | None:
    """The verified JWT a request came with, or None (no token: anonymous)."""
    auth = request.auth
    return auth if isinstance(auth, Token) else None


@dataclass
class JoinedRead:
    """What a view has authentication read with the signed-in user, in the same
    query on ``alias``: ``columns`` over the user table ``u``,
    ``joins`` after it and an ``order_by`` clause, with their ``params`` in that
    order; ``rows`` holds the extra values of each row once read (None: not
    read, the view reads them itself). One row unless a join makes more."""

    alias: str
    columns: str
    params: tuple[Any, ...] = ()
    joins: str = ""
    order_by: str = ""
    rows: list[tuple[Any, ...]] | None = None

    @property
    def values(self) -> tuple[Any, ...] | None:
        """The first row's values (the only one, for most reads)."""
        return self.rows[0] if self.rows else None


class JoinsReads(Protocol):
    def joined_read(self, alias: str, user_id: Any) -> JoinedRead | None:
        """What to read with the user whose id (as the database takes it) is ``user_id``."""


# simplejwt annotates authenticate() and get_user() with a TypeVar bound to nothing
# (AuthUser: AbstractBaseUser or TokenUser), which no concrete override can match;
# the user model here is accounts.User (AUTH_USER_MODEL), what get_user() loads.
class JWTAuthentication(_Base):
    """With no replica configured every read goes to the primary, so a view with
    a ``joined_read`` (``me``, task detail) has what it shows read together
    with the user, one query instead of two; with replicas the view reads it
    where the router sends reads, as any view does."""

    view: JoinsReads | None = None

    def authenticate(self, request: Request) -> tuple[User, Token] | None:  # type: ignore[override]  # see above
        # DRF makes the authenticators per request, so this is the request's own.
        view = (request.parser_context or {}).get("view")
        if hasattr(view, "joined_read") and not settings.DATABASE_REPLICAS:
            self.view = view
        try:
            result = super().authenticate(request)
        except exceptions.AuthenticationFailed as exc:
            raise contract_error(exc) from exc
        if result is None:
            return None
        user, token = cast("User", result[0]), result[1]
        # Messages of this request are in the account's language.
        activate_for(request._request, user)
        return user, token

    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]  # see above
        """simplejwt's checks, with the user read from the primary (a replica may
        lag behind a revocation by seconds; the primary never does) by a query
        built once per process: this runs on every signed-in request."""
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        with use_primary():
            user = _user_by_id(user_id, view=self.view)
        if user is None:
            raise exceptions.AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise exceptions.AuthenticationFailed(_("User is inactive"), code="user_inactive")
        check_token_user(user, validated_token)
        return user


@functools.cache
def _user_sql(alias: str) -> tuple[str, str, str]:
    """The query's select list, its FROM (the user table as ``u``) and its WHERE."""
    q = connections[alias].ops.quote_name
    meta = User._meta
    # Identifiers from the model only; the id is a parameter.
    return (
        rows.select_list(alias, User, rows.loaded(User), "u."),
        f"FROM {q(meta.db_table)} u",
        f"WHERE u.{q(meta.pk.column)} = %s",
    )


def _user_by_id(user_id: object, *, view: JoinsReads | None = None) -> User | None:
    """The whole user row (what ``User.objects.get`` loads), or None; with what
    ``view.joined_read`` asks for, left in its ``values``."""
    try:
        pk = uuid.UUID(str(user_id))
    except ValueError:
        return None
    alias = router.db_for_read(User)
    connection = connections[alias]
    columns, table, where = _user_sql(alias)
    user_param = User._meta.pk.get_db_prep_value(pk, connection)
    joined = view.joined_read(alias, user_param) if view is not None else None
    with connection.cursor() as cursor:
        if joined is None:
            cursor.execute(f"SELECT {columns} {table} {where}", [user_param])
            found = cursor.fetchmany(1)
        else:
            cursor.execute(
                f"SELECT {columns}, {joined.columns} {table} {joined.joins} "
                f"{where} {joined.order_by}",
                [*joined.params, user_param],
            )
            found = cursor.fetchall()
    if not found:
        return None
    fields = rows.loaded(User)
    if joined is not None:
        joined.rows = [tuple(row[len(fields) :]) for row in found]
    return rows.instance(User, alias, fields, found[0][: len(fields)])
