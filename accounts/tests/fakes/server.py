"""A loopback HTTP server base: a handler per (method, path), requests recorded."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from config.tests.loopback_server import LoopbackServer


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] | None = None

    @classmethod
    def json(cls, data: Any, *, status: int = 200, content_type: str | None = None) -> Reply:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        return cls(status, body, content_type or "application/json; charset=utf-8")


Route = Callable[[Seen], Reply]


class RoutingServer(LoopbackServer):
    """Serves ``routes`` on 127.0.0.1 at an ephemeral port, in a thread."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                form = dict(parse_qsl(raw.decode("utf-8"))) if raw else {}
                seen = Seen(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query)),
                    form=form,
                    headers={k.lower(): v for k, v in self.headers.items()},
                )
                server.seen.append(seen)
                route = server.routes.get((self.command, parts.path))
                reply = route(seen) if route else Reply.json({"error": "not_found"}, status=404)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in (reply.headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = _handle
            do_POST = _handle

            def log_message(self, *args: Any) -> None:
                return None

        super().__init__(Handler)

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]
