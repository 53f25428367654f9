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
from django.db.models import Field, ForeignKey
from django.db.models.expressions import Col

from billing.models import CreditAccount, LedgerEntry
from billing.services.ledger import account_for, recent_entries

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


def _field(model: type[CreditAccount] | type[LedgerEntry], name: str) -> Field:
    field = model._meta.get_field(name)
    assert isinstance(field, Field)
    return field


@functools.cache
def _loaded() -> tuple[str, ...]:
    """The shown entry fields in the model's own order, the order ``from_db`` expects."""
    return tuple(f.name for f in LedgerEntry._meta.concrete_fields if f.name in SHOWN_ENTRY_FIELDS)


@functools.cache
def _credits_sql(alias: str) -> str:
    q = connections[alias].ops.quote_name
    account, entry = CreditAccount._meta, LedgerEntry._meta
    user_col = q(_field(CreditAccount, "user").column)
    account_col = q(_field(LedgerEntry, "account").column)
    entry_pk = q(entry.pk.column)
    columns = [q(_field(LedgerEntry, name).column) for name in _loaded()]
    inner = ", ".join([*columns, account_col])
    outer = ", ".join(f"e.{c}" for c in columns)
    # Identifiers from the models only; the values are parameters. The latest
    # entries are a derived table (LIMIT per account), joined to the account so
    # an account without entries still gives its one row.
    return (
        f"SELECT a.{q(_field(CreditAccount, 'balance').column)}, "  # noqa: S608
        f"a.{q(_field(CreditAccount, 'reserved').column)}, {outer} "
        f"FROM {q(account.db_table)} a LEFT JOIN ("
        f"SELECT {inner} FROM {q(entry.db_table)} WHERE {account_col} = "
        f"(SELECT {q(account.pk.column)} FROM {q(account.db_table)} WHERE {user_col} = %s) "
        f"ORDER BY {entry_pk} DESC LIMIT {RECENT}"
        f") e ON e.{account_col} = a.{q(account.pk.column)} "
        f"WHERE a.{user_col} = %s ORDER BY e.{entry_pk} DESC"
    )


@functools.cache
def _converters(alias: str) -> tuple[tuple[Col, tuple[Any, ...]], ...]:
    """Per shown entry column: the backend's and the field's converters."""
    connection = connections[alias]
    out = []
    for name in _loaded():
        field = _field(LedgerEntry, name)
        column = Col(LedgerEntry._meta.db_table, field)
        # Field.get_db_converters is Django's (the compiler's source), missing from the stubs.
        own = field.get_db_converters(connection)  # type: ignore[attr-defined]
        out.append((column, (*connection.ops.get_db_converters(column), *own)))
    return tuple(out)


def _entry(alias: str, connection: Any, values: tuple[Any, ...]) -> LedgerEntry:
    converted = []
    for (column, converters), value in zip(_converters(alias), values, strict=True):
        for convert in converters:
            value = convert(value, column, connection)
        converted.append(value)
    return LedgerEntry.from_db(alias, list(_loaded()), converted)


def shown_credits(user: User) -> dict[str, Any]:
    """Balance, reserved, available and the latest entries (newest first), as
    ``CreditsSerializer`` takes them."""
    alias = router.db_for_read(CreditAccount)
    connection = connections[alias]
    user_pk = _field(CreditAccount, "user")
    assert isinstance(user_pk, ForeignKey)
    param = user_pk.get_db_prep_value(user.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(_credits_sql(alias), [param, param])
        rows = cursor.fetchall()
    if not rows:
        account = account_for(user)  # truly missing: create it (this request writes)
        return {
            "balance": account.balance,
            "reserved": account.reserved,
            "available": account.available,
            "recent": recent_entries(user),
        }
    balance, reserved = rows[0][0], rows[0][1]
    recent = [_entry(alias, connection, row[2:]) for row in rows if row[2] is not None]
    return {
        "balance": balance,
        "reserved": reserved,
        "available": balance - reserved,
        "recent": recent,
    }
