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
only the shown columns loaded (the rest deferred, as ``QuerySet.only`` does;
``config.rows``).
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from django.db import connections, router
from django.db.models import ForeignKey

from accounts.authentication import JoinedRead
from accounts.models import User
from animations.errors import TaskNotFound
from animations.models import AnimationTask
from config import rows
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


def _relation(name: str) -> ForeignKey:
    field = AnimationTask._meta.get_field(name)
    assert isinstance(field, ForeignKey)
    return field


def _task_fields() -> tuple[str, ...]:
    return rows.loaded(AnimationTask, LOADED_TASK_FIELDS)


def _file_fields() -> tuple[str, ...]:
    return rows.loaded(File, SHOWN_FILE_FIELDS)


@functools.cache
def _columns(alias: str) -> str:
    """The task's and its files' loaded columns (``t``, ``f0``..``f2``)."""
    columns = [rows.select_list(alias, AnimationTask, _task_fields(), "t.")]
    columns += [rows.select_list(alias, File, _file_fields(), f"f{n}.") for n in range(len(FILES))]
    return ", ".join(columns)


@functools.cache
def _file_joins(alias: str) -> str:
    q = connections[alias].ops.quote_name
    file = File._meta
    return " ".join(
        f"LEFT JOIN {q(file.db_table)} f{n} "
        f"ON f{n}.{q(file.pk.column)} = t.{q(rows.column(AnimationTask, relation))}"
        for n, relation in enumerate(FILES)
    )


@functools.cache
def _task_sql(alias: str, *, owned: bool) -> str:
    """The query, from the models' metadata, quoted for the alias's backend: by
    the task's id, and its owner's when ``owned``."""
    q = connections[alias].ops.quote_name
    task = AnimationTask._meta
    # Identifiers from the models only; the values are parameters.
    where = f"t.{q(task.pk.column)} = %s"
    if owned:
        where += f" AND t.{q(rows.column(AnimationTask, 'user'))} = %s"
    return (
        f"SELECT {_columns(alias)} FROM {q(task.db_table)} t {_file_joins(alias)} "  # noqa: S608
        f"WHERE {where}"
    )


@functools.cache
def _joined_sql(alias: str) -> str:
    """The task of the user ``u`` by its id and its files, as joins after the user."""
    q = connections[alias].ops.quote_name
    task = AnimationTask._meta
    return (
        f"LEFT JOIN {q(task.db_table)} t ON t.{q(task.pk.column)} = %s "
        f"AND t.{q(rows.column(AnimationTask, 'user'))} = u.{q(User._meta.pk.column)} "
        f"{_file_joins(alias)}"
    )


def joined_task_read(alias: str, task_id: Any) -> JoinedRead | None:
    """The user's own task by ``task_id``, with its files, for authentication to
    read with the user (``accounts.authentication.JoinedRead``); None for an id
    that is no task id at all."""
    try:
        pk = uuid.UUID(str(task_id))
    except ValueError:
        return None
    return JoinedRead(
        alias,
        columns=_columns(alias),
        params=(AnimationTask._meta.pk.get_db_prep_value(pk, connections[alias]),),
        joins=_joined_sql(alias),
    )


def shown_task(user: User, task_id: Any, joined: JoinedRead | None = None) -> AnimationTask:
    """The user's own task with its files, loaded with only what the API shows;
    another user's task is exactly as missing as a wrong id (``task_for``'s rule).
    ``joined``: the row authentication read with the user, when it did."""
    if joined is not None and joined.values is not None:
        if joined.values[0] is None:  # no such task of this user's
            raise TaskNotFound()
        return _task_from_row(joined.alias, joined.values)
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
    return None if row is None else _task_from_row(alias, row)


def _task_from_row(alias: str, row: tuple[Any, ...]) -> AnimationTask:
    width, file_width = len(_task_fields()), len(_file_fields())
    task = rows.instance(AnimationTask, alias, _task_fields(), row[:width])
    for n, relation in enumerate(FILES):
        values = row[width + n * file_width : width + (n + 1) * file_width]
        file = None if values[0] is None else rows.instance(File, alias, _file_fields(), values)
        # The foreign key's id and its cached object, as select_related leaves them.
        field = _relation(relation)
        setattr(task, field.attname, None if file is None else file.pk)
        field.set_cached_value(task, file)
    return task
