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
def _credits_sql(alias: str) -> str:
    q = connections[alias].ops.quote_name
    account, entry = CreditAccount._meta, LedgerEntry._meta
    user_col = q(rows.column(CreditAccount, "user"))
    account_col = q(rows.column(LedgerEntry, "account"))
    entry_pk = q(entry.pk.column)
    columns = [q(rows.column(LedgerEntry, name)) for name in _loaded()]
    inner = ", ".join([*columns, account_col])
    outer = ", ".join(f"e.{c}" for c in columns)
    # Identifiers from the models only; the values are parameters. The latest
    # entries are a derived table (LIMIT per account), joined to the account so
    # an account without entries still gives its one row.
    return (
        f"SELECT a.{q(rows.column(CreditAccount, 'balance'))}, "  # noqa: S608
        f"a.{q(rows.column(CreditAccount, 'reserved'))}, {outer} "
        f"FROM {q(account.db_table)} a LEFT JOIN ("
        f"SELECT {inner} FROM {q(entry.db_table)} WHERE {account_col} = "
        f"(SELECT {q(account.pk.column)} FROM {q(account.db_table)} WHERE {user_col} = %s) "
        f"ORDER BY {entry_pk} DESC LIMIT {RECENT}"
        f") e ON e.{account_col} = a.{q(account.pk.column)} "
        f"WHERE a.{user_col} = %s ORDER BY e.{entry_pk} DESC"
    )


def shown_credits(user: User) -> dict[str, Any]:
    """Balance, reserved, available and the latest entries (newest first), as
    ``CreditsSerializer`` takes them."""
    alias = router.db_for_read(CreditAccount)
    connection = connections[alias]
    user_pk = rows.field(CreditAccount, "user")
    assert isinstance(user_pk, ForeignKey)
    param = user_pk.get_db_prep_value(user.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(_credits_sql(alias), [param, param])
        found = cursor.fetchall()
    if not found:
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
