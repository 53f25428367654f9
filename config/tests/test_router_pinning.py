"""Router rules that need no replica: pinning state per context, fallback, tasks.

The replication suite (``test_router_replication.py``) proves the same rules
on a real primary/replica pair.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from celery import shared_task
from django.contrib.sites.models import Site
from django.core.cache import cache
from django.db import connection, transaction
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from config import db_router
from config.db_router import PinState, PrimaryReplicaRouter, choose_read_alias, primary_reason
from config.tests.concurrency import run_together

# A replica alias with no DATABASES entry: it can never answer, whatever this
# run's configuration, so the router must always fall back from it.
UNCONFIGURED = "replica-unconfigured"


@pytest.fixture
def fresh_state():
    token = db_router.begin()
    yield db_router.current_state()
    db_router.end(token)


def test_an_unpinned_read_goes_to_one_of_the_healthy_replicas(fresh_state):
    picks = {choose_read_alias(PinState(), ["replica1", "replica2"]) for _ in range(200)}

    assert picks == {("replica1", "replica"), ("replica2", "replica")}


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (PinState(wrote=True), "wrote"),
        (PinState(pinned=True), "pinned"),
        (PinState(primary_only=True), "task"),
        (PinState(forced=1), "forced"),
    ],
)
def test_a_pinned_state_reads_the_primary(state, reason):
    assert choose_read_alias(state, ["replica1"]) == ("default", reason)


def test_reads_fall_back_to_the_primary_when_no_replica_is_healthy():
    assert choose_read_alias(PinState(), []) == ("default", "no_healthy_replica")


@pytest.mark.django_db
def test_a_read_inside_a_transaction_reads_the_primary(fresh_state):
    with transaction.atomic():
        inside = primary_reason(fresh_state)

    assert connection.in_atomic_block is True  # the test's own transaction
    assert inside == "atomic"


def test_a_write_pins_the_context_that_made_it(fresh_state):
    router = PrimaryReplicaRouter()

    before = primary_reason(fresh_state)
    alias = router.db_for_write(Site)

    assert before is None
    assert alias == "default"
    assert fresh_state.wrote is True


def test_use_primary_pins_a_block_and_a_function_and_then_unpins(fresh_state):
    @db_router.use_primary()
    def decorated() -> str | None:
        return primary_reason(db_router.current_state())

    with db_router.use_primary():
        in_block = primary_reason(fresh_state)
    in_function = decorated()

    assert in_block == "forced"
    assert in_function == "forced"
    assert fresh_state.forced == 0


def test_a_write_in_one_thread_does_not_pin_another_thread():
    wrote = threading.Event()

    def writer() -> tuple[str, bool]:
        PrimaryReplicaRouter().db_for_write(Site)
        wrote.set()
        return "writer", db_router.current_state().wrote

    def reader() -> tuple[str, bool]:
        assert wrote.wait(5), "the writer never wrote"
        return "reader", db_router.current_state().wrote

    results = run_together(2, lambda n: writer() if n == 0 else reader())

    assert dict(results) == {"writer": True, "reader": False}


def test_concurrent_asgi_requests_have_their_own_pin_and_sync_writes_reach_the_caller():
    async def request(writes: bool, started: asyncio.Barrier) -> bool:
        token = db_router.begin()
        try:
            await started.wait()
            if writes:
                # Views run in a worker thread (sync_to_async); the pin must come back.
                await sync_to_async(PrimaryReplicaRouter().db_for_write)(Site)
            await asyncio.sleep(0)
            return db_router.current_state().wrote
        finally:
            db_router.end(token)

    async def main() -> list[bool]:
        started = asyncio.Barrier(2)
        return list(await asyncio.gather(request(True, started), request(False, started)))

    # In a thread of its own: the session's headless browser (Playwright's sync
    # API) keeps an event loop running in the main thread once a test used it.
    results: list[list[bool]] = []
    runner = threading.Thread(target=lambda: results.append(asyncio.run(main())))
    runner.start()
    runner.join(10)

    assert results == [[True, False]]


@shared_task
def reason_in_task() -> str | None:
    return primary_reason(db_router.current_state())


@shared_task(read_replicas=True)
def reason_in_replica_task() -> str | None:
    return primary_reason(db_router.current_state())


def test_a_celery_task_reads_the_primary_unless_it_opts_in(fresh_state):
    default = reason_in_task.delay().get()
    opted_in = reason_in_replica_task.delay().get()

    assert default == "task"
    assert opted_in is None
    # The task's scope ended with it: the caller is not pinned by it.
    assert fresh_state.primary_only is False


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("config.tests.urls_router")
class TestPinningMiddleware:
    def test_a_safe_request_is_not_pinned(self, client):
        assert client.get("/probe/reason").json() == {"reason": None}

    def test_an_unsafe_method_is_pinned_from_its_start(self, client):
        assert client.post("/probe/reason").json() == {"reason": "pinned"}

    def test_a_request_that_wrote_pins_the_client_for_the_pin_window(self, client, settings):
        settings.DATABASE_REPLICAS = [UNCONFIGURED]
        settings.DATABASE_PIN_SECONDS = 7

        first = client.get("/probe/reason", {"write": "probe-a"})
        second = client.get("/probe/reason")
        stranger = type(client)().get("/probe/reason")

        assert first.json() == {"reason": "wrote"}
        assert first.cookies[db_router.PIN_COOKIE]["max-age"] == 7
        assert first.cookies[db_router.PIN_COOKIE]["httponly"] is True
        assert second.json() == {"reason": "pinned"}
        assert stranger.json() == {"reason": None}

    def test_a_signed_in_user_who_wrote_is_pinned_even_without_cookies(self, settings):
        settings.DATABASE_REPLICAS = [UNCONFIGURED]
        writer, stranger = UserFactory(), UserFactory()
        writer_client, stranger_client = APIClient(), APIClient()
        writer_client.force_authenticate(writer)
        stranger_client.force_authenticate(stranger)

        wrote = writer_client.get("/probe/api/sites", {"write": "probe-u"})
        writer_client.cookies.clear()  # a Bearer-token client that keeps no cookies
        again = writer_client.get("/probe/api/sites")
        other = stranger_client.get("/probe/api/sites")

        assert wrote.json()["reason"] == "wrote"
        assert cache.get(f"dbpin:user:{writer.pk}") == 1
        assert again.json()["reason"] == "pinned"
        assert other.json()["reason"] is None
        assert cache.get(f"dbpin:user:{stranger.pk}") is None

    def test_a_forged_pin_cookie_is_ignored(self, client):
        client.cookies[db_router.PIN_COOKIE] = "1"

        assert client.get("/probe/reason").json() == {"reason": None}

    def test_without_replicas_no_pin_cookie_is_set(self, client, settings):
        settings.DATABASE_REPLICAS = []

        response = client.get("/probe/reason", {"write": "probe-b"})

        assert db_router.PIN_COOKIE not in response.cookies


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("config.tests.urls_router")
def test_an_unusable_replica_is_skipped_reported_and_exported(client, settings, fresh_state):
    settings.DATABASE_REPLICAS = [UNCONFIGURED]
    settings.DATABASE_REPLICA_CHECK_INTERVAL = 0
    db_router.replica_health.forget()

    alias = PrimaryReplicaRouter().db_for_read(Site)
    ready = client.get("/readyz")
    metrics = client.get("/metrics").content.decode()

    assert alias == "default"
    assert ready.status_code == 200
    assert ready.json()["checks"]["replicas"] == {
        UNCONFIGURED: {"ok": False, "skipped": True, "lag": None, "error": "not configured"}
    }
    assert f'animate_db_replica_healthy{{alias="{UNCONFIGURED}"}} 0.0' in metrics
    assert 'animate_db_reads_total{reason="no_healthy_replica",target="primary"}' in metrics
