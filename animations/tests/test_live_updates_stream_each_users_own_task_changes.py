"""GET /api/tasks/events (the contract's "Live updates") on a real uvicorn over a
Redis of the test's own: every status change a service makes reaches the owner's
open streams once, as the task JSON GET /api/tasks/{id} answers; Last-Event-ID
replays what was missed, in order, without gap or repeat; nobody sees another
user's task; heartbeats; a revoked or expired token ends the stream; no token is
401; Redis down is 503 for a new stream and never fails a status change."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from django.test import Client
from prometheus_client import REGISTRY
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services as accounts
from accounts.tests.factories import UserFactory
from animations import events, services
from animations.models import AnimationTask, TaskEvent
from animations.tests.helpers import client_for, create, drive, final, funded_user
from animations.tests.live import READER, EventsServer, Stream, open_stream
from config import outage

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def events_redis(own_redis, settings, monkeypatch):
    """Events go through the test's own Redis (the cache stays where it is)."""
    settings.REDIS_URL = own_redis.url(0)
    outage.redis_breaker.reset()
    monkeypatch.setattr(outage.redis_breaker, "retry_after_seconds", 0.5)
    yield own_redis
    outage.redis_breaker.reset()


@pytest.fixture
def events_server(events_redis) -> Iterator[EventsServer]:
    server = EventsServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def queued_only(provider, settings):
    """Tasks stay queued: no provider slot is free."""
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    return provider


def _queued_task(user) -> AnimationTask:
    body = create(user).json()
    assert body["status"] == "queued"
    return AnimationTask.objects.get(pk=body["id"])


def _unavailable(use: str) -> float:
    value = REGISTRY.get_sample_value(
        "animate_dependency_unavailable_total", {"dependency": "redis", "use": use}
    )
    return value or 0.0


def test_a_status_change_reaches_the_owners_stream_as_the_task_json(
    events_server, queued_only
) -> None:
    # Given a user with a queued task and an open stream
    user = funded_user(1000)
    task = _queued_task(user)
    stream = open_stream(events_server.url, user)
    try:
        # When the service cancels the task
        services.cancel_task(task)
        # Then one task event arrives, its data exactly what task detail answers
        event = stream.next_event()
        detail = client_for(user).get(f"/api/tasks/{task.pk}")
        assert event.event == "task"
        assert event.id and event.id.count("-") == 1
        assert event.data.encode() == detail.content
        assert event.task()["status"] == "canceled"
        assert [i for i in stream.pending() if i != "heartbeat"] == []
    finally:
        stream.close()


def unsigned(task: dict) -> dict:
    """The task JSON with its signed links cut at the signature and without the
    result link's expiry: each answer signs afresh, so links made a second apart
    differ there and only there."""

    def cut(value: object) -> object:
        if isinstance(value, dict):
            return {
                k: v.split("?")[0] if k == "url" and isinstance(v, str) else cut(v)
                for k, v in value.items()
                if k != "expires_at"
            }
        return value

    result = cut(task)
    assert isinstance(result, dict)
    return result


def test_a_job_streams_each_status_it_passes_through_once(events_server, provider) -> None:
    # Given an open stream, when a job is created and runs to success
    user = funded_user(1000)
    stream = open_stream(events_server.url, user)
    try:
        task_id = create(user).json()["id"]
        drive(final(task_id))
        # Then the stream carried each status once, in order, and the final state is
        # task detail's (the result's signed link is made afresh by each answer)
        seen = []
        while not seen or seen[-1]["status"] != "succeeded":
            seen.append(stream.next_event().task())
        assert [t["status"] for t in seen] == ["queued", "submitted", "running", "succeeded"]
        assert {t["id"] for t in seen} == {task_id}
        detail = client_for(user).get(f"/api/tasks/{task_id}").json()
        assert unsigned(seen[-1]) == unsigned(detail)
    finally:
        stream.close()


def test_last_event_id_replays_the_changes_missed_in_order_then_carries_on(
    events_server, queued_only
) -> None:
    # Given a stream that saw the task canceled, then dropped
    user = funded_user(1000)
    task = _queued_task(user)
    first = open_stream(events_server.url, user)
    services.cancel_task(task)
    seen = first.next_event()
    first.close()
    # While it is away the task is retried and canceled again
    services.retry_task(AnimationTask.objects.get(pk=task.pk))
    services.cancel_task(AnimationTask.objects.get(pk=task.pk))
    # When it comes back with the last id it saw
    again = open_stream(events_server.url, user, last_event_id=seen.id)
    try:
        # Then both missed changes come first, in order, then live ones, none twice
        missed = [again.next_event(), again.next_event()]
        assert [(e.task()["status"], e.task()["attempts"]) for e in missed] == [
            ("queued", 2),
            ("canceled", 2),
        ]
        assert seen.id < missed[0].id < missed[1].id
        services.retry_task(AnimationTask.objects.get(pk=task.pk))
        live = again.next_event()
        assert (live.task()["status"], live.task()["attempts"]) == ("queued", 3)
        assert [i for i in again.pending() if i != "heartbeat"] == []
    finally:
        again.close()


def test_a_last_event_id_from_the_future_hides_no_later_change(events_server, queued_only) -> None:
    user = funded_user(1000)
    task = _queued_task(user)
    stream = open_stream(events_server.url, user, last_event_id="99999999999999-0")
    try:
        services.cancel_task(task)
        assert stream.next_event().task()["status"] == "canceled"
    finally:
        stream.close()


def test_a_stream_never_carries_another_users_task(events_server, queued_only) -> None:
    # Given two users, each with a queued task and an open stream
    alice, bob = funded_user(1000), funded_user(1000)
    alices, bobs = _queued_task(alice), _queued_task(bob)
    alice_stream = open_stream(events_server.url, alice)
    bob_stream = open_stream(events_server.url, bob)
    try:
        # When Bob's task changes, and then Alice's
        services.cancel_task(bobs)
        services.cancel_task(alices)
        # Then each stream's next event is its own user's task, and nothing else came
        assert alice_stream.next_event().task()["id"] == str(alices.pk)
        assert bob_stream.next_event().task()["id"] == str(bobs.pk)
        assert [i for i in alice_stream.pending() if i != "heartbeat"] == []
        assert [i for i in bob_stream.pending() if i != "heartbeat"] == []
    finally:
        alice_stream.close()
        bob_stream.close()


def _server_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name != READER)


def test_open_streams_hold_no_thread_each(events_server) -> None:
    # Given a few streams open (the loop's thread pool and the shared sync thread
    # have started)
    users = [UserFactory() for _ in range(30)]
    streams = [open_stream(events_server.url, user) for user in users[:5]]
    try:
        before = _server_threads()
        # When many more are opened
        streams += [open_stream(events_server.url, user) for user in users[5:]]
        # Then the server has at most its bounded pool's few threads more, not one each
        assert _server_threads() - before <= 6
    finally:
        for stream in streams:
            stream.close()


def test_an_idle_stream_sends_heartbeat_comments(events_server, settings) -> None:
    settings.TASK_EVENTS_HEARTBEAT_SECONDS = 0.2
    stream = open_stream(events_server.url, UserFactory())
    try:
        assert [stream.next(), stream.next(), stream.next()] == ["heartbeat"] * 3
    finally:
        stream.close()


def test_signing_out_everywhere_ends_the_stream_at_the_next_heartbeat(
    events_server, settings
) -> None:
    settings.TASK_EVENTS_HEARTBEAT_SECONDS = 0.2
    user = UserFactory()
    stream = open_stream(events_server.url, user)
    try:
        accounts.sign_out_everywhere(user)
        # The stream ends cleanly (the body completes), saying why in a comment
        assert stream.ended()[-1] == "token revoked"
        # and the same token opens no new one
        assert Stream(events_server.url, stream_token(stream)).response.status_code == 401
    finally:
        stream.close()


def stream_token(stream: Stream) -> str:
    return stream.response.request.headers["Authorization"].removeprefix("Bearer ")


def test_a_stream_ends_when_its_access_token_expires(events_server) -> None:
    user = UserFactory()
    refresh = RefreshToken.for_user(user)
    refresh["gen"] = user.token_generation
    access = refresh.access_token
    access.set_exp(lifetime=timedelta(seconds=3))  # exp is whole seconds: 2-3 s from now
    stream = Stream(events_server.url, str(access))
    try:
        assert stream.next() == "connected"
        assert stream.ended()[-1] == "token expired"
    finally:
        stream.close()


def test_no_token_or_a_bad_one_is_401(events_server) -> None:
    anonymous = Stream(events_server.url, None)
    forged = Stream(events_server.url, "not.a.jwt")

    assert anonymous.response.status_code == 401
    anonymous.response.read()
    assert anonymous.response.json()["errors"][0]["code"] == "not_authenticated"
    assert forged.response.status_code == 401
    forged.response.read()
    assert forged.response.json()["errors"][0]["code"] == "token_not_valid"
    assert anonymous.response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_redis_down_at_connect_is_503_with_retry_after(events_server, events_redis) -> None:
    user = UserFactory()
    before = _unavailable(events.USE)
    with events_redis.down():
        stream = Stream(events_server.url, open_token(user))
        stream.response.read()
        assert stream.response.status_code == 503
        assert stream.response.json()["errors"][0]["code"] == "service_unavailable"
        assert int(stream.response.headers["Retry-After"]) >= 1
    assert _unavailable(events.USE) == before + 1


def open_token(user) -> str:
    from animations.tests.live import access_token

    return access_token(user)


def test_a_status_change_stands_when_redis_is_down(events_redis, queued_only) -> None:
    # Given Redis is down
    user = funded_user(1000)
    task = _queued_task(user)
    before = _unavailable(events.USE)
    with events_redis.down():
        # When the task is canceled, the cancel answers as usual and the change stands
        canceled = client_for(user).delete(f"/api/tasks/{task.pk}")
        assert canceled.status_code == 200
        assert AnimationTask.objects.get(pk=task.pk).status == "canceled"
    # and the skipped publish is counted (an outage, not an error)
    assert _unavailable(events.USE) == before + 1


def test_a_state_already_published_is_not_published_again(events_redis, queued_only) -> None:
    user = funded_user(1000)
    task = _queued_task(user)  # published on create
    r = redis.Redis.from_url(events_redis.url(0))

    assert events.publish(task.pk) is None  # the same state again: nothing appended
    assert r.xlen(events.stream_key(user.pk)) == 1


def test_the_backlog_is_bounded(events_redis, queued_only, settings) -> None:
    settings.TASK_EVENTS_BACKLOG = 3
    user = funded_user(1000)
    task = _queued_task(user)
    for _ in range(80):
        services.cancel_task(AnimationTask.objects.get(pk=task.pk))
        services.retry_task(AnimationTask.objects.get(pk=task.pk))
    length = redis.Redis.from_url(events_redis.url(0)).xlen(events.stream_key(user.pk))
    # MAXLEN ~: trimmed by whole nodes (100 entries), never below the bound
    assert 3 <= length <= 110


def test_a_wsgi_server_answers_404_so_clients_poll() -> None:
    user = UserFactory()
    response = Client().get("/api/tasks/events", HTTP_AUTHORIZATION=f"Bearer {open_token(user)}")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_without_redis_the_stream_reads_the_database_events(settings, queued_only) -> None:
    # The embedded mode: no Redis; events are rows, each stream reads its user's
    settings.REDIS_URL = ""
    settings.TASK_EVENTS_POLL_SECONDS = 0.05
    alice, bob = funded_user(1000), funded_user(1000)
    alices, bobs = _queued_task(alice), _queued_task(bob)
    server = EventsServer()
    server.start()
    stream = open_stream(server.url, alice)
    try:
        services.cancel_task(bobs)
        services.cancel_task(alices)
        event = stream.next_event()
        assert event.task()["id"] == str(alices.pk)
        assert event.task()["status"] == "canceled"
        assert event.id == str(TaskEvent.objects.filter(user=alice).latest("pk").pk)
        stream.close()
        services.retry_task(AnimationTask.objects.get(pk=alices.pk))
        again = open_stream(server.url, alice, last_event_id=event.id)
        assert again.next_event().task()["status"] == "queued"
        again.close()
    finally:
        stream.close()
        server.stop()
