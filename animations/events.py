"""Live updates, the publishing side: every status change of a task goes to its
owner's event stream once, after the change commits.

The services call ``task_changed(task)`` in the transaction that changes a
task's status (as clients see it: ``submitting`` is ``queued``). On commit the
task is read back (the committed truth) and its JSON, the one GET
/api/tasks/{id} answers (``animations.api.serializers.task_json``), is appended
to the user's event store:

- **Redis** (whenever ``REDIS_URL`` is set): a stream per user,
  ``animate:task-events:{<user id>}``, appended with ``XADD ... MAXLEN ~
  TASK_EVENTS_BACKLOG`` (the bounded backlog a resuming client replays from; the
  stream ids are the events' ids) and expiring ``TASK_EVENTS_BACKLOG_SECONDS``
  after the latest change. A Lua script appends only if the task's state is newer
  than the last one published for it (``updated_at``, kept in a hash beside the
  stream), so two commits racing to publish never leave an older state last.
- **The database** (the embedded mode, no Redis): a ``TaskEvent`` row per change.

A change never fails because of its event: with Redis down the publish is
skipped at once (``config.outage``'s breaker: logged once, counted as
``animate_dependency_unavailable_total{use="task_events"}``), and a client that
resumes later refetches what it shows (the console does at every connect).

The reading side is ``animations.api.stream``.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import redis
import structlog
from django.conf import settings
from django.db import transaction

from animations import metrics
from animations.models import AnimationTask, TaskEvent
from config import outage

logger = structlog.get_logger(__name__)

USE = "task_events"

# KEYS: the user's stream, the hash of each task's last published version.
# ARGV: task id, version (updated_at in microseconds), task JSON, backlog, ttl.
_PUBLISH = """
local last = redis.call('HGET', KEYS[2], ARGV[1])
if last and tonumber(last) >= tonumber(ARGV[2]) then
  return false
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'task', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return id
"""


def uses_redis() -> bool:
    """Whether events go through Redis (else the database)."""
    return bool(settings.REDIS_URL)


def stream_key(user_id: Any) -> str:
    """The user's Redis stream. The braces keep a user's keys on one cluster slot."""
    return f"animate:task-events:{{{user_id}}}"


def _versions_key(user_id: Any) -> str:
    return f"{stream_key(user_id)}:versions"


_local = threading.local()


def _redis() -> redis.Redis:
    client = getattr(_local, "client", None)
    if client is None or _local.url != settings.REDIS_URL:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
        _local.client, _local.url = client, settings.REDIS_URL
    return client


def task_changed(task: AnimationTask) -> None:
    """Publish ``task``'s new state to its owner's streams once the current
    transaction commits (at once outside one). The one call every service makes
    where a task's status changes."""
    pk = task.pk
    transaction.on_commit(lambda: publish(pk), robust=True)


def publish(task_pk: Any) -> str | None:
    """Append the task's committed state to its owner's event store. Returns the
    event's id, or None when nothing was appended (a newer state of the task was
    published already, or the store could not be reached: never an error)."""
    from animations.api.serializers import task_json
    from animations.services.reads import committed_task

    task = committed_task(task_pk)
    if task is None:
        return None
    data = json.dumps(task_json(task), separators=(",", ":"))
    if not uses_redis():
        event = TaskEvent.objects.create(user_id=task.user_id, data=data)
        _trim_database_backlog(task.user_id, event.pk)
        metrics.TASK_EVENTS_PUBLISHED.labels("published").inc()
        return str(event.pk)
    breaker = outage.redis_breaker
    if not breaker.available():
        breaker.skipped(USE)
        metrics.TASK_EVENTS_PUBLISHED.labels("failed").inc()
        return None
    version = int(task.updated_at.timestamp() * 1_000_000)
    try:
        event_id = _redis().eval(
            _PUBLISH,
            2,
            stream_key(task.user_id),
            _versions_key(task.user_id),
            str(task.pk),
            version,
            data,
            settings.TASK_EVENTS_BACKLOG,
            settings.TASK_EVENTS_BACKLOG_SECONDS,
        )
    except outage.REDIS_ERRORS as exc:
        breaker.failed(USE, exc)
        metrics.TASK_EVENTS_PUBLISHED.labels("failed").inc()
        logger.warning("task_event_not_published", task_id=str(task.pk))
        return None
    breaker.succeeded()
    if event_id is None:
        metrics.TASK_EVENTS_PUBLISHED.labels("duplicate").inc()
        return None
    metrics.TASK_EVENTS_PUBLISHED.labels("published").inc()
    return event_id.decode() if isinstance(event_id, bytes) else str(event_id)


def _trim_database_backlog(user_id: Any, newest: int) -> None:
    """Keep the user's last ``TASK_EVENTS_BACKLOG`` event rows."""
    cut = (
        TaskEvent.objects.filter(user_id=user_id, pk__lte=newest)
        .order_by("-pk")
        .values_list("pk", flat=True)[
            settings.TASK_EVENTS_BACKLOG : settings.TASK_EVENTS_BACKLOG + 1
        ]
    )
    if cut:
        TaskEvent.objects.filter(user_id=user_id, pk__lte=cut[0]).delete()
