"""A loopback Sentry: accepts what the SDK sends to ``/api/<project>/envelope/``.

It checks the ``X-Sentry-Auth`` key, undoes the body's ``Content-Encoding``
(gzip, deflate, or brotli when installed), splits the envelope into its items
(a JSON header line, then per item a JSON header line and a payload of the
header's ``length`` bytes or up to the next newline) and keeps every item, as
well as the raw bodies (to prove a secret never left the process).
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from config.tests.loopback_server import LoopbackServer

PUBLIC_KEY = "0123456789abcdef0123456789abcdef"
PROJECT = "42"


def parse_envelope(body: bytes) -> tuple[dict[str, Any], list[tuple[dict[str, Any], bytes]]]:
    header_line, _, rest = body.partition(b"\n")
    items: list[tuple[dict[str, Any], bytes]] = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item = json.loads(item_line)
        if "length" in item:
            payload, rest = rest[: item["length"]], rest[item["length"] :]
            rest = rest.removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((item, payload))
    return json.loads(header_line), items


def _decode(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        import brotli  # only when the SDK found it installed

        return brotli.decompress(body)
    return body


class FakeSentry(LoopbackServer):
    def __init__(self) -> None:
        self.envelopes: list[dict[str, Any]] = []
        self.items: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.raw: list[bytes] = []
        self.refused = 0
        self.arrived = threading.Condition()
        super().__init__(self._handler())

    @property
    def dsn(self) -> str:
        return f"http://{PUBLIC_KEY}@127.0.0.1:{self.port}/{PROJECT}"

    def events(self) -> list[dict[str, Any]]:
        return [payload for header, payload in self.items if header.get("type") == "event"]

    def wait_for_events(self, count: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.events()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"Sentry received {len(self.events())} event(s)")
                self.arrived.wait(left)
        return self.events()

    def _receive(self, handler: BaseHTTPRequestHandler) -> int:
        auth = handler.headers.get("X-Sentry-Auth", "")
        if re.search(rf"sentry_key={PUBLIC_KEY}\b", auth) is None:
            self.refused += 1
            return 401
        length = int(handler.headers.get("Content-Length") or 0)
        body = _decode(handler.rfile.read(length), handler.headers.get("Content-Encoding", ""))
        header, items = parse_envelope(body)
        with self.arrived:
            self.raw.append(body)
            self.envelopes.append(header)
            for item, payload in items:
                parsed = json.loads(payload) if payload[:1] in (b"{", b"[") else {}
                self.items.append((item, parsed))
            self.arrived.notify_all()
        return 200

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                if self.path.split("?")[0] != f"/api/{PROJECT}/envelope/":
                    status = 404
                else:
                    status = fake._receive(self)
                body = b"{}" if status == 200 else b'{"detail": "refused"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


@pytest.fixture
def fake_sentry() -> Iterator[FakeSentry]:
    server = FakeSentry().start()
    yield server
    server.stop()
