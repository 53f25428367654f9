"""Task detail, the platform's hottest read (every console polls the task it
shows): the user's own task and its three files in one query whose SQL is
built once per process. Live updates read a task the same way once its change
commits (``committed_task``), so every create, poll and finish pays for that
read too.

Django compiles a queryset on every evaluation; for this read that cost five
times the query itself (select_related over three files, about 1 ms a
request on the benchmark machine against 0.2 ms for the same SQL). The SQL
here is made from the models' own metadata, so a renamed column follows; the
connection is the one the router picks for the read (replica, or the primary
when the request is pinned); the rows become ordinary model instances with
only the shown columns loaded (the rest deferred, as ``QuerySet.only`` does).
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from django.db import connections, router
from django.db.models import Field, ForeignKey, Model
from django.db.models.expressions import Col

from accounts.models import User
from animations.errors import TaskNotFound
from animations.models import AnimationTask
from storage.models import File
from storage.services import SHOWN_FILE_FIELDS

# What the API shows of a task (``animations.api.serializers.task_json``); of its
# files, storage's ``SHOWN_FILE_FIELDS``.
SHOWN_TASK_FIELDS = (
    "id",
    "type",
    "model",
    "mode",
    "status",
    "attempts",
    "video_duration",
    "created_at",
    "submitted_at",
    "started_at",
    "provider_end_time",
    "finished_at",
    "credits_reserved",
    "credits_charged",
    "credits_released",
    "error_code",
    "error_message",
)
FILES = ("image", "video", "result")
# Loaded besides: whose task it is and its version (what a live update needs).
LOADED_TASK_FIELDS = (*SHOWN_TASK_FIELDS, "user", "updated_at")


def _field(model: type[Model], name: str) -> Field:
    field = model._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def _column(model: type[Model], name: str) -> str:
    return str(_field(model, name).column)


def _relation(name: str) -> ForeignKey:
    field = AnimationTask._meta.get_field(name)
    assert isinstance(field, ForeignKey)
    return field


@functools.cache
def _loaded(model: type[Model]) -> tuple[str, ...]:
    """The loaded fields' attributes in the model's own order, the order
    ``from_db`` expects."""
    shown = LOADED_TASK_FIELDS if model is AnimationTask else SHOWN_FILE_FIELDS
    return tuple(f.attname for f in model._meta.concrete_fields if f.name in shown)


@functools.cache
def _task_sql(alias: str, *, owned: bool) -> str:
    """The query, from the models' metadata, quoted for the alias's backend: by
    the task's id, and its owner's when ``owned``."""
    q = connections[alias].ops.quote_name
    task, file = AnimationTask._meta, File._meta
    columns = [f"t.{q(_column(AnimationTask, name))}" for name in _loaded(AnimationTask)]
    joins = []
    for n, relation in enumerate(FILES):
        f = f"f{n}"
        columns += [f"{f}.{q(_column(File, name))}" for name in _loaded(File)]
        joins.append(
            f"LEFT JOIN {q(file.db_table)} {f} "
            f"ON {f}.{q(file.pk.column)} = t.{q(_column(AnimationTask, relation))}"
        )
    # Identifiers from the models only; the values are parameters.
    where = f"t.{q(task.pk.column)} = %s"
    if owned:
        where += f" AND t.{q(_column(AnimationTask, 'user'))} = %s"
    return (
        f"SELECT {', '.join(columns)} FROM {q(task.db_table)} t {' '.join(joins)} "  # noqa: S608
        f"WHERE {where}"
    )


def shown_task(user: User, task_id: Any) -> AnimationTask:
    """The user's own task with its files, loaded with only what the API shows;
    another user's task is exactly as missing as a wrong id (``task_for``'s rule)."""
    try:
        pk = uuid.UUID(str(task_id))
    except ValueError as exc:
        raise TaskNotFound() from exc
    task = _read(pk, user.pk)
    if task is None:
        raise TaskNotFound()
    return task


def committed_task(task_pk: Any) -> AnimationTask | None:
    """The task with its files as a live update shows it (and whose it is, and its
    ``updated_at``), read where the router sends the caller's reads: after a
    write, the primary."""
    return _read(task_pk, None)


def _read(pk: Any, user_pk: Any) -> AnimationTask | None:
    alias = router.db_for_read(AnimationTask)
    connection = connections[alias]
    params = [AnimationTask._meta.pk.get_db_prep_value(pk, connection)]
    if user_pk is not None:
        params.append(_relation("user").get_db_prep_value(user_pk, connection))
    with connection.cursor() as cursor:
        cursor.execute(_task_sql(alias, owned=user_pk is not None), params)
        row = cursor.fetchone()
    return None if row is None else _task_from_row(alias, connection, row)


def _task_from_row(alias: str, connection: Any, row: tuple[Any, ...]) -> AnimationTask:
    width, file_width = len(_loaded(AnimationTask)), len(_loaded(File))
    task = AnimationTask.from_db(
        alias, list(_loaded(AnimationTask)), _convert(AnimationTask, row[:width], connection)
    )
    for n, relation in enumerate(FILES):
        values = row[width + n * file_width : width + (n + 1) * file_width]
        file = (
            None
            if values[0] is None
            else File.from_db(alias, list(_loaded(File)), _convert(File, values, connection))
        )
        # The foreign key's id and its cached object, as select_related leaves them.
        field = _relation(relation)
        setattr(task, field.attname, None if file is None else file.pk)
        field.set_cached_value(task, file)
    return task


def _convert(model: type[Model], values: tuple[Any, ...], connection: Any) -> list[Any]:
    """Column values as the ORM hands them to a model (UUIDs, aware datetimes...)."""
    converted = []
    for (column, converters), value in zip(
        _converters(model, connection.alias), values, strict=True
    ):
        for convert in converters:
            value = convert(value, column, connection)
        converted.append(value)
    return converted


@functools.cache
def _converters(model: type[Model], alias: str) -> tuple[tuple[Col, tuple[Any, ...]], ...]:
    """Per shown column: the backend's and the field's converters, as the compiler finds them."""
    connection = connections[alias]
    out = []
    for name in _loaded(model):
        field = _field(model, name)
        column = Col(model._meta.db_table, field)
        # Field.get_db_converters is Django's (the compiler's source), missing from the stubs.
        own = field.get_db_converters(connection)  # type: ignore[attr-defined]
        out.append((column, (*connection.ops.get_db_converters(column), *own)))
    return tuple(out)
