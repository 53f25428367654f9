"""The live-update stream served by a real uvicorn (``config.asgi``) on a loopback
port, in a thread of the test process (so it reads the test database), and a
client that reads its events over HTTP as the console does."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from accounts.models import User
from accounts.tokens import issue_tokens
from config.tests.worker_process import free_port

READER = "events-test-reader"


class EventsServer:
    def __init__(self) -> None:
        from config.asgi import application

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            application, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="events-server", daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve())

    def start(self) -> None:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise AssertionError("uvicorn did not start")
            self.thread.join(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Event:
    id: str | None = None
    event: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)

    def task(self) -> dict[str, Any]:
        assert self.event == "task", self
        return json.loads(self.data)


class Stream:
    """One open ``GET /api/tasks/events``, read on a thread of its own into a queue
    of events (comments included as their own items), so a test waits for the next
    one with a timeout instead of sleeping."""

    END = object()

    def __init__(self, url: str, token: str | None, *, last_event_id: str | None = None):
        headers = {"Accept": "text/event-stream"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.client = httpx.Client(timeout=httpx.Timeout(30.0))
        self.response = self.client.send(
            self.client.build_request("GET", f"{url}/api/tasks/events", headers=headers),
            stream=True,
        )
        self.items: queue.Queue[object] = queue.Queue()
        self.thread: threading.Thread | None = None
        if self.response.status_code == 200:
            self.thread = threading.Thread(target=self._read, name=READER, daemon=True)
            self.thread.start()

    def _read(self) -> None:
        event = Event()
        try:
            for line in self.response.iter_lines():
                if line == "":
                    if event.event or event.data:
                        self.items.put(event)
                    event = Event()
                elif line.startswith(":"):
                    self.items.put(line[1:].strip())
                else:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if name == "id":
                        event.id = value
                    elif name == "event":
                        event.event = value
                    elif name == "data":
                        event.data = value
        except httpx.HTTPError:
            pass
        self.items.put(self.END)

    def next(self, timeout: float = 10.0) -> object:
        return self.items.get(timeout=timeout)

    def next_event(self, timeout: float = 10.0) -> Event:
        """The next event, skipping comments."""
        while True:
            item = self.next(timeout)
            assert item is not self.END, "the stream ended"
            if isinstance(item, Event):
                return item

    def ended(self, timeout: float = 10.0) -> list[object]:
        """Everything until the stream ends (it must end within ``timeout``)."""
        rest = []
        while (item := self.next(timeout)) is not self.END:
            rest.append(item)
        return rest

    def pending(self) -> list[object]:
        out = []
        while True:
            try:
                out.append(self.items.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        # Shut the socket down first: that ends the reader thread's blocked read
        # (closing the response from here would not) and the server sees it go.
        stream = self.response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.response.close()
        self.client.close()
        if self.thread is not None:
            self.thread.join(5)


def access_token(user: User) -> str:
    return issue_tokens(user, method="pwd")["access"]


def open_stream(url: str, user: User | None, **kwargs: Any) -> Stream:
    """A stream that has started (its first comment read): from here on, every
    change of the user's tasks reaches it."""
    stream = Stream(url, access_token(user) if user else None, **kwargs)
    if stream.response.status_code == 200:
        assert stream.next() == "connected"
    return stream
