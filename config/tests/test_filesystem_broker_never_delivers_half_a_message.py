"""The embedded filesystem broker: a consumer polling while producers write
never reads a message before it is whole (kombu's own transport could)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from kombu import Connection

from config.broker import Transport
from config.tests.concurrency import run_together

ROOT = Path(__file__).resolve().parents[2]


def _connection(folder) -> Connection:
    return Connection(
        "filesystem://",
        transport=Transport,
        transport_options={
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "control_folder": str(folder / "control"),
        },
    )


def test_messages_written_while_a_consumer_polls_arrive_whole(tmp_path):
    (tmp_path / "control").mkdir()
    body = {"payload": "x" * 500_000}  # large enough that a write takes a while
    sent = 100
    received: list[dict] = []
    errors: list[BaseException] = []

    def consume() -> None:
        with _connection(tmp_path) as conn:
            queue = conn.SimpleQueue("jobs")
            try:
                while len(received) < sent:
                    try:
                        message = queue.get(timeout=5)
                    except queue.Empty:
                        break
                    received.append(message.payload)
                    message.ack()
            except BaseException as exc:
                errors.append(exc)
            finally:
                queue.close()

    # kombu remembers declared bindings process-wide: declared here once, before the
    # reader, so the writer below never publishes ahead of the binding's file.
    with _connection(tmp_path) as conn:
        conn.SimpleQueue("jobs").close()
    reader = threading.Thread(target=consume)
    reader.start()
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue("jobs")
        for _ in range(sent):
            queue.put(body)
        queue.close()
    reader.join(30)

    assert errors == []
    assert len(received) == sent
    assert all(message == body for message in received)


def test_a_new_exchange_is_never_read_half_bound_and_keeps_every_binding(tmp_path):
    # A publisher reads an exchange's bindings while consumers create its file
    (tmp_path / "control").mkdir()
    binders, readers = 4, 4

    with _connection(tmp_path) as conn:
        channel = conn.default_channel
        for round_ in range(25):
            exchange = f"fresh{round_}"

            def bind_or_read(n: int, exchange: str = exchange) -> int:
                if n < binders:
                    channel._queue_bind(exchange, f"q{n}", "", f"q{n}")
                    return -1
                return len(channel.get_table(exchange))  # raised on an empty file before

            run_together(binders + readers, bind_or_read)

            assert sorted(q.queue for q in channel.get_table(exchange)) == [
                f"q{n}" for n in range(binders)
            ]
    assert list((tmp_path / "control").glob("*.part")) == []


def test_the_embedded_default_and_only_it_uses_the_atomic_transport(tmp_path):
    probe = "import django; django.setup(); from django.conf import settings as s; " + (
        "print(s.CELERY_BROKER_URL, getattr(s, 'CELERY_BROKER_TRANSPORT', None))"
    )

    def broker(**env: str) -> str:
        clean = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "VAR_DIR": str(tmp_path / "var"),
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            **env,
        }
        done = subprocess.run(
            [sys.executable, "-c", probe], cwd=ROOT, env=clean, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert broker() == "filesystem:// config.broker:Transport"
    assert broker(CELERY_BROKER_URL="redis://127.0.0.1:6399/1") == "redis://127.0.0.1:6399/1 None"
