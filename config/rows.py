"""Model instances from the rows of SQL built once per process.

The hottest reads (the signed-in user, task detail, credits) run SQL made once
from the models' metadata instead of a queryset Django compiles on every
evaluation. This module is the other half: a row's values become an ordinary
model instance, through the same converters the compiler would apply (UUIDs,
aware datetimes, JSON...), with the fields not read deferred as ``only`` leaves
them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import connections
from django.db.models import Field, Model
from django.db.models.expressions import Col

M = TypeVar("M", bound=Model)


def field(model: type[Model], name: str) -> Field:
    """The model's concrete field ``name`` (or attribute name, ``user_id``)."""
    found = model._meta.get_field(name)
    assert isinstance(found, Field)
    return found


def column(model: type[Model], name: str) -> str:
    return str(field(model, name).column)


@functools.cache
def loaded(model: type[Model], names: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The attribute names of the fields in ``names`` (all when None), in the
    model's own order: the order ``Model.from_db`` expects, and the order of the
    columns the SQL must select."""
    return tuple(f.attname for f in model._meta.concrete_fields if names is None or f.name in names)


def instance(model: type[M], alias: str, fields: tuple[str, ...], values: Sequence[Any]) -> M:
    """The instance ``from_db`` makes of ``values`` (one per ``fields``, as the
    database returned them), as a queryset on ``alias`` would."""
    connection = connections[alias]
    converted = []
    for (col, converters), value in zip(_converters(model, fields, alias), values, strict=True):
        for convert in converters:
            value = convert(value, col, connection)
        converted.append(value)
    return model.from_db(alias, list(fields), converted)


@functools.cache
def _converters(
    model: type[Model], fields: tuple[str, ...], alias: str
) -> tuple[tuple[Col, tuple[Any, ...]], ...]:
    """Per field: the backend's and the field's converters, as the compiler finds them."""
    connection = connections[alias]
    out = []
    for name in fields:
        f = field(model, name)
        col = Col(model._meta.db_table, f)
        # Field.get_db_converters is Django's (the compiler's source), missing from the stubs.
        own = f.get_db_converters(connection)  # type: ignore[attr-defined]
        out.append((col, (*connection.ops.get_db_converters(col), *own)))
    return tuple(out)


def select_list(alias: str, model: type[Model], fields: Iterable[str], prefix: str = "") -> str:
    """``prefix.col, ...`` for ``fields``, quoted for the alias's backend."""
    q = connections[alias].ops.quote_name
    return ", ".join(f"{prefix}{q(column(model, name))}" for name in fields)
