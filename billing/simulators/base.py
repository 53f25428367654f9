"""What both payment simulators share.

A ``Simulator`` serves its protocol over a real ``ThreadingHTTPServer`` on
loopback (port 0 picks a free one), so the official client libraries make real
requests to it. It owns a lock that guards all of its state, a clock thread
(``tick``: expiries, refunds that settle later), fault injection for the API
(``fail``), and webhook delivery the way providers do it: each notification is
POSTed to the merchant's URL until it answers 2xx, re-signed for every attempt
and retried on the provider's schedule, optionally late, lost or duplicated.

Simulators only ever talk to loopback: a notification for any other address is
recorded as refused and never sent (the tests' fake merchant URLs stay offline).
"""

from __future__ import annotations

import functools
import heapq
import html
import http.client
import ipaddress
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback_url(url: str) -> bool:
    """An http(s) URL whose host is a loopback address or name (no DNS is asked)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return False
    if parts.hostname.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


class SimulatorError(Exception):
    """A request the simulated provider refuses (an order that cannot be paid...)."""


@dataclass
class Request:
    method: str
    target: str  # the path and query exactly as sent (WeChat Pay signs it)
    headers: Message
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def param(self, name: str, default: str = "") -> str:
        return self.query.get(name, [default])[0]

    def json(self) -> Any:
        return json.loads(self.body) if self.body else {}

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, **headers: str) -> Response:
        return cls(status, json.dumps(data).encode(), "application/json; charset=utf-8", headers)

    @classmethod
    def html(cls, status: int, title: str, body: str) -> Response:
        return cls(status, page(title, body).encode(), "text/html; charset=utf-8")

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(303, b"", "", {"Location": location})


def page(title: str, body: str) -> str:
    """A small, accessible page: the simulators' hosted checkout and pay screens."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;background:#f6f7f9;margin:0}"
        "main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:12px;"
        "box-shadow:0 1px 4px #0002}h1{font-size:1.3rem}.amount{font-size:2rem;margin:.5rem 0}"
        "button{font-size:1rem;padding:.6rem 1.4rem;margin:.3rem .3rem 0 0;border-radius:6px;"
        "border:1px solid #888;cursor:pointer}button.primary{background:#2b6;color:#fff;"
        "border-color:#2b6}.note{color:#666;font-size:.85rem}form{display:inline}"
        f"</style></head><body><main>{body}</main></body></html>"
    )


def escape(value: object) -> str:
    return html.escape(str(value), quote=True)


@dataclass
class DeliveryKnobs:
    """How notifications reach the merchant; every simulator's knobs extend this.

    ``retry_delays``: seconds before each retry of a delivery that did not get a
    2xx (its length is the number of retries). ``notification_delay``: seconds
    before the first attempt (a late notification). ``duplicate_notifications``:
    extra copies of every notification, sent at the same moment as the first.
    ``deliver_notifications``: False loses them all (record only).
    """

    retry_delays: tuple[float, ...] = (5.0, 30.0, 120.0, 600.0, 1800.0)
    notification_delay: float = 0.0
    duplicate_notifications: int = 0
    deliver_notifications: bool = True
    delivery_timeout: float = 10.0
    # Seconds each API request waits before it is answered: a slow provider.
    delay: float = 0.0


@dataclass
class Delivery:
    """One notification on its way to one URL; ``attempts`` lists what each try got."""

    event_id: str
    url: str
    build: Callable[[], tuple[bytes, dict[str, str]]]
    due: float
    state: str = "pending"  # pending | delivered | failed | refused | lost
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def snapshot(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "url": self.url,
            "state": self.state,
            "attempts": list(self.attempts),
        }


class Simulator:
    """The shared machinery; a protocol subclass implements ``route`` and ``tick``."""

    server_version = "PaymentSimulator/1.0"

    def __init__(self, knobs: DeliveryKnobs, *, port: int = 0, host: str = "127.0.0.1") -> None:
        self.knobs = knobs
        self.host = host
        self._requested_port = port
        self.lock = threading.RLock()
        self.deliveries: list[Delivery] = []
        self._queue: list[tuple[float, int, Delivery]] = []
        self._sequence = itertools.count()
        self._wake = threading.Condition(self.lock)
        self._in_flight = 0
        self._failures: deque[int] = deque()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sim-deliver")
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        # Tests order concurrent API requests by events, never by sleeping: each
        # is counted as it arrives (``wait_for_arrivals``), then waits for ``gate``.
        self.gate = threading.Event()
        self.gate.set()
        self._arrivals = 0
        self._arrived = threading.Condition()

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> Self:
        simulator: Simulator = self

        class Handler(_Handler):
            sim = simulator
            server_version = simulator.server_version

        self._server = ThreadingHTTPServer((self.host, self._requested_port), Handler)
        self._server.daemon_threads = True
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)
        for target, name in (
            (serve, "sim-http"),
            (self._clock, "sim-clock"),
            (self._dispatch, "sim-dispatch"),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._pool.shutdown(wait=True, cancel_futures=True)
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the simulator first"
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- knobs and faults --------------------------------------------------------
    def configure(self, **knobs: Any) -> None:
        """Turn knobs by name (see the simulator's ``Knobs`` dataclass)."""
        known = {f.name for f in fields(self.knobs)}
        with self.lock:
            for name, value in knobs.items():
                if name not in known:
                    raise ValueError(f"unknown knob {name}")
                if isinstance(value, list):
                    value = tuple(value)
                setattr(self.knobs, name, value)

    def fail(self, status: int = 500, times: int = 1) -> None:
        """The next ``times`` API requests answer ``status`` with the provider's
        error body, before doing anything (an outage, not a refusal)."""
        with self.lock:
            self._failures.extend([status] * times)

    def _take_failure(self) -> int | None:
        with self.lock:
            return self._failures.popleft() if self._failures else None

    # -- notifications -----------------------------------------------------------
    def notify(
        self, *, event_id: str, url: str, build: Callable[[], tuple[bytes, dict[str, str]]]
    ) -> list[Delivery]:
        """Queue a notification (and its configured duplicates) for ``url``;
        ``build`` makes the body and freshly signed headers for each attempt."""
        now = time.time()
        with self.lock:
            copies = 1 + max(0, int(self.knobs.duplicate_notifications))
            made = [
                Delivery(event_id, url, build, now + self.knobs.notification_delay)
                for _ in range(copies)
            ]
            for delivery in made:
                self.deliveries.append(delivery)
                if not is_loopback_url(url):
                    delivery.state = "refused"  # simulators never leave loopback
                elif not self.knobs.deliver_notifications:
                    delivery.state = "lost"
                else:
                    self._schedule(delivery, delivery.due)
        return made

    def _schedule(self, delivery: Delivery, due: float) -> None:
        delivery.due = due
        heapq.heappush(self._queue, (due, next(self._sequence), delivery))
        self._wake.notify_all()

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Wait until no notification is pending or being sent; True if none is."""
        deadline = time.time() + timeout
        with self._wake:
            while self._queue or self._in_flight:
                left = deadline - time.time()
                if left <= 0:
                    return False
                self._wake.wait(min(left, 0.05))
        return True

    def delivery_log(self) -> list[dict[str, Any]]:
        with self.lock:
            return [d.snapshot() for d in self.deliveries]

    def _dispatch(self) -> None:
        while not self._stop.is_set():
            with self._wake:
                now = time.time()
                if not self._queue:
                    self._wake.wait(0.5)
                    continue
                due = self._queue[0][0]
                if due > now:
                    self._wake.wait(min(due - now, 0.5))
                    continue
                _, _, delivery = heapq.heappop(self._queue)
                self._in_flight += 1
            try:
                self._pool.submit(self._attempt, delivery)
            except RuntimeError:  # stopping
                with self._wake:
                    self._in_flight -= 1
                return

    def _attempt(self, delivery: Delivery) -> None:
        outcome: dict[str, Any] = {"at": time.time()}
        try:
            body, headers = delivery.build()
            outcome["status"] = _post(delivery.url, body, headers, self.knobs.delivery_timeout)
        except Exception as exc:  # a merchant that cannot be reached is retried, like any failure
            outcome["error"] = f"{exc.__class__.__name__}: {exc}"
        with self._wake:
            self._in_flight -= 1
            delivery.attempts.append(outcome)
            if 200 <= outcome.get("status", 0) < 300:
                delivery.state = "delivered"
                self.delivered(delivery)
            elif len(delivery.attempts) <= len(self.knobs.retry_delays):
                wait = self.knobs.retry_delays[len(delivery.attempts) - 1]
                self._schedule(delivery, time.time() + wait)
            else:
                delivery.state = "failed"
            self._wake.notify_all()

    def delivered(self, delivery: Delivery) -> None:
        """Called under the lock when a delivery got its 2xx."""

    # -- the clock -----------------------------------------------------------------
    def _clock(self) -> None:
        while not self._stop.wait(0.2):
            with self.lock:
                self.tick(time.time())

    def tick(self, now: float) -> None:
        """Called under the lock a few times a second: time-driven state changes."""

    # -- requests --------------------------------------------------------------------
    def route(self, request: Request) -> Response:
        raise NotImplementedError

    def wait_for_arrivals(self, count: int, *, timeout: float = 10.0) -> bool:
        """True once ``count`` API requests have come in (answered or held at ``gate``)."""
        with self._arrived:
            return self._arrived.wait_for(lambda: self._arrivals >= count, timeout)

    def _arrive(self) -> bool:
        """Count an API request, then hold it while ``gate`` is closed (30 s at most)."""
        with self._arrived:
            self._arrivals += 1
            self._arrived.notify_all()
        return self.gate.wait(timeout=30)

    def control(self, request: Request) -> Response | None:
        """``/__sim__/...``: the hidden endpoints tests and scripts drive the
        simulator with. The shared ones are here; subclasses add their own."""
        path = request.path
        if request.method == "GET" and path == "/__sim__/deliveries":
            return Response.json(200, {"deliveries": self.delivery_log()})
        if request.method == "POST" and path == "/__sim__/configure":
            try:
                self.configure(**request.json())
            except (ValueError, TypeError) as exc:
                return Response.json(400, {"error": str(exc)})
            return Response.json(200, {"knobs": self.knob_values()})
        if request.method == "POST" and path == "/__sim__/fail":
            body = request.json()
            self.fail(int(body.get("status", 500)), int(body.get("times", 1)))
            return Response.json(200, {"ok": True})
        if request.method == "POST" and path == "/__sim__/wait":
            done = self.wait_for_deliveries(float(request.json().get("timeout", 10)))
            return Response.json(200, {"idle": done})
        parts = path.strip("/").split("/")[1:]
        if request.method == "GET" and parts == ["state"]:
            with self.lock:
                return Response.json(200, {**self.state(), "deliveries": self.delivery_log()})
        if request.method != "POST" or len(parts) != 3:
            return None
        # POST /__sim__/{collection}/{id}/{verb}
        action = self.actions(request).get((parts[0], parts[2]))
        if action is None:
            return None
        try:
            return Response.json(200, action(parts[1]))
        except (SimulatorError, KeyError) as exc:
            return Response.json(409, {"error": str(exc)})

    def state(self) -> dict[str, Any]:
        """What ``GET /__sim__/state`` shows besides the deliveries (under the lock)."""
        return {}

    def actions(self, request: Request) -> dict[tuple[str, str], Callable[[str], Any]]:
        """``POST /__sim__/{collection}/{id}/{verb}``: ``(collection, verb)`` → the
        action, called with the id; a ``SimulatorError`` or ``KeyError`` answers 409."""
        return {}

    def knob_values(self) -> dict[str, Any]:
        with self.lock:
            return {f.name: getattr(self.knobs, f.name) for f in fields(self.knobs)}


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST without following redirects (a provider counts a 3xx as a failure)."""
    parts = urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname or "", parts.port, timeout=timeout)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


class _Handler(BaseHTTPRequestHandler):
    sim: Simulator
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, self.path, self.headers, body)
        try:
            if request.path.startswith("/__sim__/"):
                response = self.sim.control(request) or Response.json(404, {"error": "not found"})
            elif not self.sim._arrive():
                response = Response.json(503, {"error": "the test never opened the gate"})
            else:
                response = self.sim.route(request)
        except Exception as exc:  # the simulator's own bug: say so, do not hang the client
            response = Response.json(500, {"error": f"simulator error: {exc!r}"})
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_DELETE = _serve
