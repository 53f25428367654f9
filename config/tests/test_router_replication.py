"""The router on real replication: a MariaDB primary and a binlog-fed replica.

Run against the pair from ``scripts/mariadb-replica start``::

    DATABASE_URL=mysql://root@127.0.0.1:3307/animate \\
    DATABASE_REPLICA_URLS=mysql://root@127.0.0.1:3308/animate \\
    .venv/bin/pytest -m replication config/tests/test_router_replication.py

Which server answered is proven with planted rows: one written on the primary
with ``sql_log_bin=0`` (never replicated, so only the primary has it) and one
written directly on the replica (only the replica has it).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import shared_task
from django.conf import settings
from django.contrib.sites.models import Site
from django.db import OperationalError, connections, transaction
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from config import db_router
from config.tests.urls_router import PREFIX, probe_domains

ROOT = Path(__file__).resolve().parents[2]
ONLY_ON_PRIMARY = f"{PREFIX}primary-only"
ONLY_ON_REPLICA = f"{PREFIX}replica-only"
PLANTED_IDS = (900001, 900002)


def _answers(url_port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", url_port), timeout=0.5):
            return True
    except OSError:
        return False


def _pair_reason() -> str | None:
    if "replica1" not in settings.DATABASES:
        return "no replica configured: set DATABASE_REPLICA_URLS (see scripts/mariadb-replica)"
    ports = [int(settings.DATABASES[a]["PORT"] or 3306) for a in ("default", "replica1")]
    if not all(_answers(p) for p in ports):
        return f"the MariaDB pair is not answering on {ports}: run scripts/mariadb-replica start"
    return None


_reason = _pair_reason()
_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# Under CI a configured pair that does not answer is a failure, not a skip
# (scripts/run-tests starts it); the main suite, with no replica, skips.
if _reason and _ci and "replica1" in settings.DATABASES:
    pytest.fail(f"CI must run the replication tests: {_reason}", pytrace=False)
if _reason:
    pytest.skip(_reason, allow_module_level=True)

pytestmark = [
    pytest.mark.replication,
    pytest.mark.urls("config.tests.urls_router"),
    pytest.mark.django_db(transaction=True, databases=["default", "replica1"]),
]


class Server:
    """A raw autocommit connection to one server of the pair, outside the router."""

    def __init__(self, alias: str) -> None:
        wrapper = connections[alias]
        self.conn = wrapper.get_new_connection(wrapper.get_connection_params())
        self.conn.autocommit(True)

    def run(self, sql: str, params: tuple = ()) -> list[tuple]:
        cursor = self.conn.cursor()
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []

    def value(self, sql: str) -> Any:
        return self.run(sql)[0][0]

    def status(self) -> dict[str, Any]:
        cursor = self.conn.cursor()
        cursor.execute("SHOW SLAVE STATUS")
        return dict(zip([c[0] for c in cursor.description], cursor.fetchone(), strict=True))

    def close(self) -> None:
        self.conn.close()


def _wait_until_replicated(primary: Server, replica: Server, timeout: int = 15) -> None:
    position = primary.value("SELECT @@gtid_binlog_pos")
    assert replica.value(f"SELECT MASTER_GTID_WAIT('{position}', {timeout})") == 0


def _replica_pid() -> int:
    pair_dir = Path(os.environ.get("MARIADB_REPLICA_DIR", ROOT / "var/mariadb-replica"))
    return int((pair_dir / "replica/mariadbd.pid").read_text())


def _stop_replica_server() -> None:
    pid = _replica_pid()
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError("the replica's mariadbd did not stop")


@pytest.fixture
def pair(settings) -> Iterator[tuple[Server, Server]]:
    settings.DATABASE_REPLICA_CHECK_INTERVAL = 0
    settings.DATABASE_REPLICA_MAX_LAG = 10
    primary, replica = Server("default"), Server("replica1")
    _wait_until_replicated(primary, replica)
    db_router.replica_health.forget()
    token = db_router.begin()
    yield primary, replica
    db_router.end(token)
    if not _answers(int(settings.DATABASES["replica1"]["PORT"])):
        subprocess.run([str(ROOT / "scripts/mariadb-replica"), "start"], check=True)
        replica = Server("replica1")
    replica.run("STOP SLAVE")
    replica.run("CHANGE MASTER TO MASTER_DELAY=0")
    replica.run("START SLAVE")
    replica.run("DELETE FROM django_site WHERE id IN (%s, %s)", PLANTED_IDS)
    primary.run("SET SESSION sql_log_bin = 0")
    primary.run("DELETE FROM django_site WHERE id IN (%s, %s)", PLANTED_IDS)
    primary.close()
    replica.close()
    connections["replica1"].close()
    db_router.replica_health.forget()


@pytest.fixture
def planted(pair) -> tuple[Server, Server]:
    """A row only the primary has and a row only the replica has."""
    primary, replica = pair
    primary.run("SET SESSION sql_log_bin = 0")
    primary.run("DELETE FROM django_site WHERE id IN (%s, %s)", PLANTED_IDS)
    replica.run("DELETE FROM django_site WHERE id IN (%s, %s)", PLANTED_IDS)
    primary.run(
        "INSERT INTO django_site (id, domain, name) VALUES (%s, %s, 'p')",
        (PLANTED_IDS[0], ONLY_ON_PRIMARY),
    )
    primary.run("SET SESSION sql_log_bin = 1")
    replica.run(
        "INSERT INTO django_site (id, domain, name) VALUES (%s, %s, 'r')",
        (PLANTED_IDS[1], ONLY_ON_REPLICA),
    )
    return primary, replica


def test_a_write_reaches_the_replica_only_through_replication(pair):
    primary, replica = pair
    replica.run("STOP SLAVE SQL_THREAD")

    Site.objects.create(domain=f"{PREFIX}written", name="w")
    time.sleep(0.5)
    before = replica.run("SELECT domain FROM django_site WHERE domain = %s", (f"{PREFIX}written",))
    replica.run("START SLAVE SQL_THREAD")
    _wait_until_replicated(primary, replica)
    after = replica.run("SELECT domain FROM django_site WHERE domain = %s", (f"{PREFIX}written",))

    assert before == []
    assert after == [(f"{PREFIX}written",)]
    assert primary.run("SELECT domain FROM django_site WHERE domain = %s", (f"{PREFIX}written",))


def test_an_unpinned_read_is_served_by_the_replica(planted, client):
    response = client.get("/probe/sites")

    assert response.json() == {"domains": [ONLY_ON_REPLICA]}
    assert db_router.PIN_COOKIE not in response.cookies


def test_a_request_that_writes_reads_its_own_write_for_the_rest_of_it(planted, client):
    response = client.get("/probe/write-then-read", {"domain": f"{PREFIX}new"})

    assert response.json() == {
        "before": [ONLY_ON_REPLICA],
        "after": [f"{PREFIX}new", ONLY_ON_PRIMARY],
    }
    assert response.cookies[db_router.PIN_COOKIE]["max-age"] == settings.DATABASE_PIN_SECONDS


def test_the_writing_client_reads_the_primary_until_its_pin_expires(planted, client, settings):
    settings.DATABASE_PIN_SECONDS = 2
    client.get("/probe/write-then-read", {"domain": f"{PREFIX}new"})
    other_client = type(client)()

    pinned = client.get("/probe/sites").json()["domains"]
    unpinned = other_client.get("/probe/sites").json()["domains"]
    time.sleep(2.2)
    expired = client.get("/probe/sites").json()["domains"]

    assert pinned == [f"{PREFIX}new", ONLY_ON_PRIMARY]
    assert ONLY_ON_REPLICA not in pinned
    assert ONLY_ON_PRIMARY not in unpinned
    assert ONLY_ON_REPLICA in unpinned
    assert ONLY_ON_REPLICA in expired
    assert ONLY_ON_PRIMARY not in expired


def test_a_signed_in_api_client_without_cookies_reads_its_writes(planted):
    writer, reader = APIClient(), APIClient()
    writer.force_authenticate(UserFactory())
    reader.force_authenticate(UserFactory())

    wrote = writer.get("/probe/api/sites", {"write": f"{PREFIX}api"}).json()
    writer.cookies.clear()
    writer_next = writer.get("/probe/api/sites").json()
    reader_next = reader.get("/probe/api/sites").json()

    assert wrote == {"domains": [f"{PREFIX}api", ONLY_ON_PRIMARY], "reason": "wrote"}
    assert writer_next == {"domains": [f"{PREFIX}api", ONLY_ON_PRIMARY], "reason": "pinned"}
    # The reader is served by the replica (which may by now have the new row too).
    assert ONLY_ON_REPLICA in reader_next["domains"]
    assert ONLY_ON_PRIMARY not in reader_next["domains"]
    assert reader_next["reason"] is None


def test_an_unsafe_method_reads_the_primary_even_before_it_writes(planted, client):
    response = client.post("/probe/sites")

    assert response.json() == {"domains": [ONLY_ON_PRIMARY]}
    # It wrote nothing, so the client is not pinned afterwards.
    assert db_router.PIN_COOKIE not in response.cookies


def test_transactions_and_use_primary_read_the_primary(planted):
    with transaction.atomic():
        in_transaction = probe_domains()
    with db_router.use_primary():
        forced = probe_domains()
    plain = probe_domains()

    assert in_transaction == [ONLY_ON_PRIMARY]
    assert forced == [ONLY_ON_PRIMARY]
    assert plain == [ONLY_ON_REPLICA]


def test_select_for_update_reads_the_primary(planted):
    with transaction.atomic():
        locked = list(
            Site.objects.select_for_update()
            .filter(domain__startswith=PREFIX)
            .values_list("domain", flat=True)
        )

    assert locked == [ONLY_ON_PRIMARY]


@shared_task
def probe_task() -> list[str]:
    return probe_domains()


@shared_task(read_replicas=True)
def probe_task_on_replicas() -> list[str]:
    return probe_domains()


def test_a_task_reads_the_primary_unless_it_opts_in(planted):
    default = probe_task.delay().get()
    opted_in = probe_task_on_replicas.delay().get()
    after_tasks = probe_domains()

    assert default == [ONLY_ON_PRIMARY]
    assert opted_in == [ONLY_ON_REPLICA]
    assert after_tasks == [ONLY_ON_REPLICA]


def test_a_replica_with_replication_stopped_is_skipped_and_readyz_says_so(planted, client):
    _primary, replica = planted
    replica.run("STOP SLAVE")

    reads = client.get("/probe/sites").json()["domains"]
    ready = client.get("/readyz")

    assert reads == [ONLY_ON_PRIMARY]
    assert ready.status_code == 200
    assert ready.json()["checks"]["replicas"] == {
        "replica1": {
            "ok": False,
            "skipped": True,
            "lag": None,
            "error": "replication stopped (io=No, sql=No)",
        }
    }


def test_a_lagging_replica_is_skipped(planted, client, settings):
    _primary, replica = planted
    settings.DATABASE_REPLICA_MAX_LAG = 0
    replica.run("STOP SLAVE")
    replica.run("CHANGE MASTER TO MASTER_DELAY=5")
    replica.run("START SLAVE")
    Site.objects.create(domain=f"{PREFIX}delayed", name="d")
    deadline = time.monotonic() + 4
    while (replica.status()["Seconds_Behind_Master"] or 0) < 1 and time.monotonic() < deadline:
        time.sleep(0.2)

    reads = client.get("/probe/sites").json()["domains"]
    replica_report = client.get("/readyz").json()["checks"]["replicas"]["replica1"]

    assert reads == [f"{PREFIX}delayed", ONLY_ON_PRIMARY]
    assert replica_report["ok"] is False
    assert replica_report["error"] == "lagging"
    assert replica_report["lag"] >= 1


def test_a_stopped_replica_server_makes_reads_fall_back_and_readyz_says_so(planted, client):
    _stop_replica_server()

    reads = client.get("/probe/sites").json()["domains"]
    ready = client.get("/readyz")

    assert reads == [ONLY_ON_PRIMARY]
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok"
    assert body["checks"]["primary"] == {"ok": True}
    assert body["checks"]["replicas"]["replica1"]["ok"] is False
    assert body["checks"]["replicas"]["replica1"]["error"].startswith("unreachable")


def test_a_health_verdict_is_cached_for_the_check_interval(planted, settings):
    settings.DATABASE_REPLICA_CHECK_INTERVAL = 60
    _, replica = planted
    first = probe_domains()
    replica.run("STOP SLAVE")

    within_interval = probe_domains()
    db_router.replica_health.forget()  # as if the interval had passed
    after_recheck = probe_domains()

    assert first == [ONLY_ON_REPLICA]
    assert within_interval == [ONLY_ON_REPLICA]
    assert after_recheck == [ONLY_ON_PRIMARY]


def test_a_hung_replica_is_checked_by_one_thread_while_others_keep_the_last_verdict(pair):
    first = db_router.replica_health.verdict("replica1")
    pid = _replica_pid()
    results: dict[str, db_router.ReplicaVerdict] = {}
    db_router.replica_health.forget()
    db_router.replica_health.verdict("replica1")  # a verdict to fall back on
    os.kill(pid, signal.SIGSTOP)
    try:
        # (the pair fixture set the check interval to 0: every call wants a check)
        checker = threading.Thread(
            target=lambda: results.update(checker=db_router.replica_health.verdict("replica1"))
        )
        checker.start()
        time.sleep(0.3)  # the checker is now waiting on the silent server
        started = time.monotonic()
        other = db_router.replica_health.verdict("replica1")
        waited = time.monotonic() - started
        checker.join(10)
    finally:
        os.kill(pid, signal.SIGCONT)

    assert first.healthy is True
    assert other.healthy is True  # the last verdict, not a wait
    assert waited < 0.2
    assert results["checker"].healthy is False
    assert results["checker"].error.startswith("unreachable")


def test_a_replica_that_fails_a_query_is_skipped_before_the_next_check(planted, settings):
    settings.DATABASE_REPLICA_CHECK_INTERVAL = 60
    first = probe_domains()  # a healthy verdict, cached for a minute
    _stop_replica_server()

    with pytest.raises(OperationalError):
        probe_domains()  # the one read already sent to the dead replica
    after = probe_domains()

    assert first == [ONLY_ON_REPLICA]
    assert after == [ONLY_ON_PRIMARY]
    assert db_router.replica_health.verdict("replica1").error == "failed: OperationalError"
