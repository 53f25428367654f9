"""A loopback web server serving scripted answers: files, redirects, errors.

Stands in for "some server on the internet" in import and mirroring tests;
``hits`` records every request path so tests can assert what was (not) fetched.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from config.tests.loopback_server import LoopbackServer


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # False: no Content-Length; the body ends when the connection closes.
    declare_length: bool = True
    # Seconds to wait before answering (a slow or stuck server).
    delay: float = 0.0
    # Seconds between 100-byte pieces of the body (a server that trickles).
    trickle: float = 0.0


@dataclass
class FakeWeb:
    routes: dict[str, deque[Answer]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    server: LoopbackServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return self.server.base_url

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def serve(self, path: str, *answers: Answer) -> str:
        """Answer ``path`` with ``answers`` in turn; the last one repeats."""
        self.routes[path] = deque(answers)
        return self.url(path)

    def file(self, path: str, body: bytes, content_type: str = "application/octet-stream") -> str:
        return self.serve(path, Answer(200, body, {"Content-Type": content_type}))

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.serve(path, Answer(status, b"", {"Location": location}))

    def answer_for(self, path: str) -> Answer:
        queue = self.routes.get(path)
        if not queue:
            return Answer(404, b"not found")
        return queue.popleft() if len(queue) > 1 else queue[0]


def start_fake_web() -> FakeWeb:
    state = FakeWeb()
    handler = type("Handler", (_Handler,), {"state": state})
    state.server = LoopbackServer(handler).start()
    return state


def stop_fake_web(state: FakeWeb) -> None:
    assert state.server is not None
    state.server.stop()


class _Handler(BaseHTTPRequestHandler):
    state: FakeWeb
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        self.state.hits.append(self.path)
        answer = self.state.answer_for(self.path)
        if answer.delay:
            time.sleep(answer.delay)
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.declare_length:
            self.send_header("Content-Length", str(len(answer.body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        pieces = (
            [answer.body[i : i + 100] for i in range(0, len(answer.body), 100)]
            if answer.trickle
            else [answer.body]
        )
        try:
            for piece in pieces:
                self.wfile.write(piece)
                self.wfile.flush()
                time.sleep(answer.trickle)
        except (BrokenPipeError, ConnectionResetError):
            return
