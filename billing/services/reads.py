"""``GET /api/users/credits``: the account and its latest entries in one query
whose SQL is built once per process, read where the router sends reads.

A read endpoint must not write: ``account_for``'s ``get_or_create`` is routed
as a write, so with replicas configured every credits read would pin its user
to the primary. The account normally exists from registration; only when it is
truly missing is it created (that request writes, and pinning it is right).
One statement also reads the balance and the entries from one snapshot.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.db import connections, router
from django.db.models import ForeignKey

from accounts.authentication import JoinedRead
from billing.models import CreditAccount, LedgerEntry
from billing.services.ledger import account_for, recent_entries
from config import rows

if TYPE_CHECKING:
    from accounts.models import User

RECENT = 20
# What the API shows of an entry (``billing.api.serializers.entry_json``).
SHOWN_ENTRY_FIELDS = (
    "id",
    "kind",
    "amount",
    "reserved_delta",
    "balance_after",
    "ref",
    "created_at",
)


def _loaded() -> tuple[str, ...]:
    return rows.loaded(LedgerEntry, SHOWN_ENTRY_FIELDS)


@functools.cache
def _latest_entries(alias: str) -> str:
    """The account's latest entries as a derived table ``e`` (LIMIT per account);
    its parameter is the user's id."""
    q = connections[alias].ops.quote_name
    account, entry = CreditAccount._meta, LedgerEntry._meta
    user_col = q(rows.column(CreditAccount, "user"))
    account_col = q(rows.column(LedgerEntry, "account"))
    columns = [q(rows.column(LedgerEntry, name)) for name in _loaded()]
    # Identifiers from the models only; the values are parameters.
    return (
        f"(SELECT {', '.join([*columns, account_col])} FROM {q(entry.db_table)} "  # noqa: S608
        f"WHERE {account_col} = "
        f"(SELECT {q(account.pk.column)} FROM {q(account.db_table)} WHERE {user_col} = %s) "
        f"ORDER BY {q(entry.pk.column)} DESC LIMIT {RECENT}) e"
    )


@functools.cache
def _columns(alias: str) -> str:
    q = connections[alias].ops.quote_name
    entries = ", ".join(f"e.{q(rows.column(LedgerEntry, name))}" for name in _loaded())
    return (
        f"a.{q(rows.column(CreditAccount, 'balance'))}, "
        f"a.{q(rows.column(CreditAccount, 'reserved'))}, {entries}"
    )


@functools.cache
def _credits_sql(alias: str) -> str:
    q = connections[alias].ops.quote_name
    account, entry = CreditAccount._meta, LedgerEntry._meta
    user_col = q(rows.column(CreditAccount, "user"))
    account_col = q(rows.column(LedgerEntry, "account"))
    # The entries joined to the account, so an account without entries still
    # gives its one row.
    return (
        f"SELECT {_columns(alias)} FROM {q(account.db_table)} a "  # noqa: S608
        f"LEFT JOIN {_latest_entries(alias)} ON e.{account_col} = a.{q(account.pk.column)} "
        f"WHERE a.{user_col} = %s ORDER BY e.{q(entry.pk.column)} DESC"
    )


@functools.cache
def _joined_sql(alias: str) -> tuple[str, str]:
    """The account and its latest entries as joins after the user ``u``, and the order."""
    q = connections[alias].ops.quote_name
    account, entry = CreditAccount._meta, LedgerEntry._meta
    user_col = q(rows.column(CreditAccount, "user"))
    account_col = q(rows.column(LedgerEntry, "account"))
    user_fk = rows.field(CreditAccount, "user")
    assert isinstance(user_fk, ForeignKey)
    return (
        f"LEFT JOIN {q(account.db_table)} a ON a.{user_col} = u.{q(user_fk.target_field.column)} "
        f"LEFT JOIN {_latest_entries(alias)} ON e.{account_col} = a.{q(account.pk.column)}",
        f"ORDER BY e.{q(entry.pk.column)} DESC",
    )


def joined_credits_read(alias: str, user_id: Any) -> JoinedRead:
    """The account and its latest entries, for authentication to read with the
    user (``accounts.authentication.JoinedRead``); ``user_id`` as the database
    takes it."""
    joins, order_by = _joined_sql(alias)
    return JoinedRead(
        alias,
        columns=_columns(alias),
        params=(user_id,),
        joins=joins,
        order_by=order_by,
    )


def shown_credits(user: User, joined: JoinedRead | None = None) -> dict[str, Any]:
    """Balance, reserved, available and the latest entries (newest first), as
    ``CreditsSerializer`` takes them. ``joined``: the rows authentication read
    with the user, when it did."""
    if joined is not None and joined.rows is not None:
        alias, found = joined.alias, joined.rows
    else:
        alias = router.db_for_read(CreditAccount)
        connection = connections[alias]
        user_pk = rows.field(CreditAccount, "user")
        assert isinstance(user_pk, ForeignKey)
        param = user_pk.get_db_prep_value(user.pk, connection)
        with connection.cursor() as cursor:
            cursor.execute(_credits_sql(alias), [param, param])
            found = cursor.fetchall()
    if not found or found[0][0] is None:
        account = account_for(user)  # truly missing: create it (this request writes)
        return {
            "balance": account.balance,
            "reserved": account.reserved,
            "available": account.available,
            "recent": recent_entries(user),
        }
    balance, reserved = found[0][0], found[0][1]
    recent = [
        rows.instance(LedgerEntry, alias, _loaded(), row[2:]) for row in found if row[2] is not None
    ]
    return {
        "balance": balance,
        "reserved": reserved,
        "available": balance - reserved,
        "recent": recent,
    }
