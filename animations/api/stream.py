"""Live updates, the reading side: ``GET /api/tasks/events``, a ``text/event-stream``
of the signed-in user's task changes (``animations.events`` publishes them).

Served by an ASGI process (``config.asgi`` under uvicorn): the view is async and
a stream waits on an event loop, holding no thread. A WSGI server (gunicorn's
sync workers) would hold a worker for each stream, so there it answers 404 and
clients poll ``GET /api/tasks/{task_id}``, as the contract allows.

- **Auth**: the Bearer JWT, checked as on every endpoint
  (``accounts.authentication.JWTAuthentication``: signature, expiry, active
  account, token generation, read from the primary). Every
  ``TASK_EVENTS_HEARTBEAT_SECONDS`` a comment line is sent and the account is
  read again: a revoked token (sign out everywhere, password reset,
  deactivation, erasure) ends the stream then; every stream ends when its access
  token expires, so a client that signed out (its refresh token refused) cannot
  reconnect.
- **Events**: ``id: <event id>``, ``event: task``, ``data: <task JSON>``. A
  ``Last-Event-ID`` header replays the user's backlog after that id first, then
  live events follow with nothing missed or repeated in between.
- **Ownership**: a stream reads only its user's own stream key (or rows).
- **Redis**: one reader per process blocks on every watched user's stream at once
  (``XREAD BLOCK`` over all their keys, ``Hub``) and hands each event to that
  user's open streams: a thousand streams cost one blocked Redis connection, not
  a thousand. Redis down at connect: 503 ``service_unavailable`` with
  ``Retry-After``; lost later: the streams end and clients reconnect.
- **Without Redis** (the embedded mode) a stream reads its user's ``TaskEvent``
  rows every ``TASK_EVENTS_POLL_SECONDS``.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import redis.asyncio as aioredis
import structlog
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections
from django.http import (
    HttpRequest,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from redis.typing import KeyT, StreamIdT
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import Token

from accounts.authentication import JWTAuthentication, check_token_user
from accounts.models import User
from animations import events
from animations.errors import StreamNotServed
from animations.models import TaskEvent
from config import outage
from config.db_router import use_primary
from config.errors import error_body
from config.schema import errors

logger = structlog.get_logger(__name__)

# How long the hub's XREAD blocks before it looks again (a new watcher wakes it).
BLOCK_SECONDS = 10.0
# Batches of events (one per Redis read) a stream may have waiting before it is
# ended: a client too slow to read them resumes with Last-Event-ID.
QUEUE_LIMIT = 1000

Event = tuple[str, str]  # (id, task JSON)
# What XRANGE / XREVRANGE (and each stream of XREAD) answer on the clients below,
# which decode replies (decode_responses=True): redis-py types them bytes | str.
Entries = list[tuple[str, dict[str, str]]]


class StreamEnded(Exception):
    """The event source failed (Redis lost) or the stream fell too far behind."""


def _order(event_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in event_id.split("-"))


def _valid_id(value: str) -> bool:
    parts = value.split("-")
    return 1 <= len(parts) <= 2 and all(p.isdigit() and len(p) < 20 for p in parts)


@dataclass(eq=False)
class Watcher:
    """One open stream's inbox: batches of events, then None when it must end."""

    queue: asyncio.Queue[list[Event] | None] = field(default_factory=asyncio.Queue)
    ended: bool = False

    def deliver(self, batch: list[Event] | None) -> None:
        if self.ended:
            return
        if batch is None or self.queue.qsize() >= QUEUE_LIMIT:
            # Ended, or too far behind: the client resumes from its last id.
            self.ended = True
            batch = None
        self.queue.put_nowait(batch)


class Hub:
    """This process's one reader of the users' Redis streams (one per event loop)."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.get_running_loop()
        self.url = url
        self.redis = aioredis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2, decode_responses=True
        )
        self.reader = aioredis.Redis.from_url(
            url,
            socket_timeout=BLOCK_SECONDS + 5,
            socket_connect_timeout=2,
            decode_responses=True,
        )
        self.wake_key = f"animate:task-events:wake:{uuid.uuid4().hex}"
        self.wake_cursor = "0-0"
        self.cursors: dict[str, str] = {}
        self.watchers: dict[str, set[Watcher]] = {}
        self.task: asyncio.Task[None] | None = None

    async def watch(self, key: str, watcher: Watcher) -> None:
        """Deliver every event appended to ``key`` from now on to ``watcher``."""
        new = key not in self.cursors
        if new:
            last = cast(Entries, await self.redis.xrevrange(key, count=1))
            if key in self.cursors:
                new = False
            else:
                self.cursors[key] = last[0][0] if last else "0-0"
        self.watchers.setdefault(key, set()).add(watcher)
        if self.task is None or self.task.done():
            self.wake_cursor = cast(str, await self.redis.xadd(self.wake_key, {"w": "1"}, maxlen=1))
            await self.redis.expire(self.wake_key, 3600)
            self.task = asyncio.create_task(self._run())
        elif new:
            # The reader blocks on the keys it had: make it start again with this one.
            await self.redis.xadd(self.wake_key, {"w": "1"}, maxlen=1)

    def unwatch(self, key: str, watcher: Watcher) -> None:
        watching = self.watchers.get(key)
        if watching is None:
            return
        watching.discard(watcher)
        if not watching:
            del self.watchers[key]
            self.cursors.pop(key, None)
        if not self.watchers and self.task is not None:
            # Nobody left to read for: stop blocking on Redis (a new watcher starts
            # a new reader).
            self.task.cancel()
            self.task = None

    async def _run(self) -> None:
        while self.watchers:
            # str keys and ids; redis-py's parameter type is invariant in them.
            streams = cast(
                "dict[KeyT, StreamIdT]", {**self.cursors, self.wake_key: self.wake_cursor}
            )
            try:
                answer = cast(
                    "list[tuple[str, Entries]] | None",
                    await self.reader.xread(
                        streams, block=int(BLOCK_SECONDS * 1000), count=QUEUE_LIMIT
                    ),
                )
            except outage.REDIS_ERRORS as exc:
                outage.redis_breaker.failed(events.USE, exc)
                self._end_all()
                return
            for key, entries in answer or []:
                if not entries:
                    continue
                if key == self.wake_key:
                    self.wake_cursor = entries[-1][0]
                    continue
                if key not in self.cursors:
                    continue
                self.cursors[key] = entries[-1][0]
                batch = [(eid, fields.get("task", "")) for eid, fields in entries]
                for watcher in list(self.watchers.get(key, ())):
                    watcher.deliver(batch)

    def _end_all(self) -> None:
        for watching in self.watchers.values():
            for watcher in watching:
                watcher.deliver(None)
        self.watchers.clear()
        self.cursors.clear()


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def hub() -> Hub:
    loop = asyncio.get_running_loop()
    current = _hubs.get(loop)
    if current is None or current.url != settings.REDIS_URL:
        for old in [old for old in _hubs if old.is_closed()]:
            del _hubs[old]
        current = _hubs[loop] = Hub(settings.REDIS_URL)
    return current


class Source:
    """Where one stream's events come from. ``after``: the id the stream resumes
    after, once ``open`` has checked it (an id newer than any event is taken as
    the newest, so a made-up one cannot hide the events to come)."""

    after: str | None = None

    async def open(self, after: str | None) -> list[Event]:
        """Start watching; the events after ``after`` (replayed), oldest first."""
        raise NotImplementedError

    async def next(self, timeout: float) -> list[Event]:
        """The next events, or [] after ``timeout`` seconds without any."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop watching."""


class RedisSource(Source):
    def __init__(self, user_id: Any) -> None:
        self.key = events.stream_key(user_id)
        self.hub = hub()
        self.watcher = Watcher()

    async def open(self, after: str | None) -> list[Event]:
        # Watch first, then read the backlog: whatever lands in between is in
        # both, and the stream skips ids it has sent.
        await self.hub.watch(self.key, self.watcher)
        if after is None:
            return []
        if "-" not in after:
            after = f"{after}-0"
        newest = cast(Entries, await self.hub.redis.xrevrange(self.key, count=1))
        newest_id = newest[0][0] if newest else "0-0"
        self.after = min(after, newest_id, key=_order)
        entries = cast(
            Entries, await self.hub.redis.xrange(self.key, min=f"({self.after}", max="+")
        )
        return [(eid, fields.get("task", "")) for eid, fields in entries]

    async def next(self, timeout: float) -> list[Event]:
        try:
            batch = await asyncio.wait_for(self.watcher.queue.get(), timeout)
        except TimeoutError:
            return []
        if batch is None:
            raise StreamEnded()
        return batch

    def close(self) -> None:
        self.hub.unwatch(self.key, self.watcher)


class DatabaseSource(Source):
    def __init__(self, user_id: Any) -> None:
        self.user_id = user_id
        self.last = 0

    def _read(self) -> list[Event]:
        close_old_connections()
        rows = list(
            TaskEvent.objects.filter(user_id=self.user_id, pk__gt=self.last)
            .order_by("pk")
            .values_list("pk", "data")[:QUEUE_LIMIT]
        )
        return [(str(pk), data) for pk, data in rows]

    def _newest(self) -> int:
        newest = (
            TaskEvent.objects.filter(user_id=self.user_id).order_by("-pk").values_list("pk").first()
        )
        return newest[0] if newest else 0

    async def open(self, after: str | None) -> list[Event]:
        newest = await sync_to_async(self._newest, thread_sensitive=False)()
        if after is None or not after.isdigit():
            self.last = newest
            return []
        self.last = min(int(after), newest)
        self.after = str(self.last)
        return await self.next(0)

    async def next(self, timeout: float) -> list[Event]:
        deadline = time.monotonic() + timeout
        while True:
            batch = await sync_to_async(self._read, thread_sensitive=False)()
            if batch:
                self.last = int(batch[-1][0])
                return batch
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            await asyncio.sleep(min(left, settings.TASK_EVENTS_POLL_SECONDS))


# The sync calls below run on the event loop's thread pool, not on a thread of
# the request's own (``config.asgi``): each starts by dropping stale connections.


def _authenticate(request: HttpRequest) -> tuple[User, Token] | None:
    close_old_connections()
    return JWTAuthentication().authenticate(Request(request))


def _still_valid(user_id: Any, token: Token) -> bool:
    close_old_connections()
    with use_primary():
        user = User.objects.filter(pk=user_id).first()
    if user is None:
        return False
    try:
        check_token_user(user, token)
    except exceptions.AuthenticationFailed:
        return False
    return True


def _error(status: int, code: str, detail: str, **headers: str) -> JsonResponse:
    kind = "server_error" if status >= 500 else "client_error"
    response = JsonResponse(error_body(kind, code, detail), status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _frame(event_id: str, data: str) -> str:
    return f"id: {event_id}\nevent: task\ndata: {data}\n\n"


async def task_events(request: HttpRequest) -> HttpResponseBase:
    """``GET /api/tasks/events``: the signed-in user's task changes as they happen."""
    if request.method != "GET":
        return _error(405, "method_not_allowed", _("Method not allowed."), Allow="GET")
    if not isinstance(request, ASGIRequest):
        return _error(404, StreamNotServed.code, str(StreamNotServed.default_detail))
    try:
        authenticated = await sync_to_async(_authenticate, thread_sensitive=False)(request)
    except exceptions.AuthenticationFailed as exc:
        codes = exc.get_codes()
        return _error(
            401,
            codes if isinstance(codes, str) else "authentication_failed",
            str(exc.detail),
            **{"WWW-Authenticate": 'Bearer realm="api"'},
        )
    if authenticated is None:
        return _error(
            401,
            "not_authenticated",
            _("Authentication credentials were not provided."),
            **{"WWW-Authenticate": 'Bearer realm="api"'},
        )
    user, token = authenticated
    after = request.headers.get("Last-Event-ID", "").strip() or None
    if after is not None and not _valid_id(after):
        after = None
    source: Source
    if events.uses_redis():
        breaker = outage.redis_breaker
        if not breaker.available():
            breaker.skipped(events.USE)
            return _unavailable(breaker.retry_after())
        source = RedisSource(user.pk)
        try:
            backlog = await source.open(after)
        except outage.REDIS_ERRORS as exc:
            source.close()
            breaker.failed(events.USE, exc)
            return _unavailable(outage.RETRY_AFTER)
        breaker.succeeded()
    else:
        source = DatabaseSource(user.pk)
        backlog = await source.open(after)
    response = StreamingHttpResponse(
        _stream(source, backlog, user.pk, token), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


def _unavailable(retry_after: float) -> JsonResponse:
    return _error(
        503,
        "service_unavailable",
        _("A service we depend on is unavailable; try again shortly."),
        **{"Retry-After": str(math.ceil(retry_after))},
    )


async def _stream(
    source: Source, backlog: list[Event], user_id: Any, token: Token
) -> AsyncIterator[str]:
    heartbeat = settings.TASK_EVENTS_HEARTBEAT_SECONDS
    expires = float(token.get("exp", math.inf))
    last = _order(source.after) if source.after else (0,)
    sent = 0
    try:
        yield ": connected\n\n"
        batch = backlog
        beat_at = time.monotonic() + heartbeat
        while True:
            for event_id, data in batch:
                if _order(event_id) > last:
                    last = _order(event_id)
                    sent += 1
                    yield _frame(event_id, data)
            now = time.monotonic()
            if time.time() >= expires:
                yield ": token expired\n\n"
                return
            if now >= beat_at:
                yield ": heartbeat\n\n"
                if not await sync_to_async(_still_valid, thread_sensitive=False)(user_id, token):
                    yield ": token revoked\n\n"
                    return
                beat_at = now + heartbeat
            wait = max(0.0, min(beat_at - now, expires - time.time()))
            try:
                batch = await source.next(wait)
            except StreamEnded:
                return
    finally:
        source.close()
        logger.debug("task_events_stream_closed", user_id=user_id, sent=sent)


class TaskEventsSchema(APIView):
    """What the schema says of ``task_events`` (an async Django view, which
    drf-spectacular cannot read by itself); never dispatched to."""

    @extend_schema(
        operation_id="tasks_events",
        summary="Your task changes as they happen: a text/event-stream.",
        description="Server-sent events: a `task` event (`id:` the event's id, `data:` "
        "the task JSON exactly as GET /api/tasks/{task_id} answers it) each time one of "
        "your tasks changes status; a comment line every 15 s. Send the last `id:` seen "
        "as `Last-Event-ID` to resume: the changes missed are sent first, in order, then "
        "new ones. The stream ends when the access token expires or is revoked; "
        "reconnect with a fresh token. A server that does not stream answers 404: "
        "poll GET /api/tasks/{task_id} then.",
        parameters=[
            OpenApiParameter(
                "Last-Event-ID",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="The `id:` of the last event received: resume after it.",
            )
        ],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                OpenApiTypes.STR, description="The event stream."
            ),
            **errors(StreamNotServed),
        },
    )
    def get(self, request: Request) -> Response:
        raise NotImplementedError


# drf-spectacular documents DRF views: this names the class it reads.
task_events.cls = TaskEventsSchema  # type: ignore[attr-defined]
task_events.initkwargs = {}  # type: ignore[attr-defined]
