"""A local DashScope: the wan2.2-animate HTTP API as reference/dashscope.md describes it.

One ``Simulator`` object owns the state (tasks, rate windows, knobs) and serves
it over a real ``ThreadingHTTPServer`` on loopback, so clients (ours, the
official SDK) make real HTTP requests. A scheduler thread moves tasks through
PENDING -> RUNNING -> SUCCEEDED | FAILED within the per-key concurrency limit;
a small pool fetches and checks the inputs and renders the MP4.

Time: every provider duration (queueing, running, the 24 h retention) is
divided by ``time_scale``; timestamps stay real wall-clock time, so a client
sees honest times, only faster. Rate limits count per simulated second
(``1 / time_scale`` real seconds).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
import threading
import time
import uuid
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from animations.simulator import media

MODELS = {"wan2.2-animate-move", "wan2.2-animate-mix"}
MODES = {"wan-std": ("standard", 15), "wan-pro": ("pro", 25)}
CREATE_PATHS = {
    "/api/v1/services/aigc/image2video/video-synthesis",
    "/api/v1/services/aigc/image2video/video-synthesis/",
}
# DashScope Beijing reports times without a zone, in China Standard Time.
PROVIDER_TZ = timezone(timedelta(hours=8))
RETENTION_SECONDS = 24 * 3600
DEFAULT_KEY = "sk-simulator"

MESSAGES = {
    "InvalidApiKey": "Invalid API-key provided.",
    "AccessDenied": "current user api does not support synchronous calls",
    "InvalidParameter": "Required parameter(s) missing or invalid, please check the request parameters.",
    "Throttling.RateQuota": "Requests rate limit exceeded, please try again later.",
    "Throttling.AllocationQuota": "Too many tasks in flight for this account, please try again later.",
    "InternalError": "An internal error has occured, please try again later or contact service support.",
    "InternalError.Algo": "An internal error occurred while running the algorithm.",
}


def provider_time(ts: float) -> str:
    """``YYYY-MM-DD HH:mm:ss.SSS`` in the provider's zone, as DashScope writes it."""
    moment = datetime.fromtimestamp(ts, tz=UTC).astimezone(PROVIDER_TZ)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


@dataclass
class SimTask:
    task_id: str
    api_key: str
    model: str
    mode: str
    image_url: str
    video_url: str
    watermark: bool
    request_id: str
    created: float
    outcome: dict[str, Any] = field(default_factory=dict)
    status: str = "PENDING"
    scheduled: float | None = None
    end: float | None = None
    ready_at: float | None = None
    prepared: bool = False
    code: str | None = None
    message: str | None = None
    video_duration: float | None = None
    run_seconds: float | None = None


@dataclass
class Knobs:
    """Everything a test or benchmark may turn. Durations are simulated seconds."""

    time_scale: float = 1.0
    api_keys: tuple[str, ...] = ()  # empty: any key that starts with "sk-"
    submit_rps: int = 5
    query_rps: int = 20
    max_concurrency: int = 1
    overflow: str = "queue"  # "queue": extra tasks wait PENDING; "reject": 429
    schedule_delay: float = 2.0
    run_base: dict[str, float] = field(default_factory=lambda: {"wan-std": 20.0, "wan-pro": 30.0})
    run_per_second: dict[str, float] = field(
        default_factory=lambda: {"wan-std": 25.0, "wan-pro": 40.0}
    )
    jitter: float = 0.0
    failure_rate: float = 0.0
    throttle_rate: float = 0.0
    error_rate: float = 0.0
    latency: float = 0.0  # real seconds added to every API response
    short_side: int = 720
    fetch_timeout: float = 30.0
    result_failures: int = 0  # the next N result downloads answer 503


class Simulator:
    """A DashScope wan2.2-animate endpoint on ``127.0.0.1:port`` (0 = ephemeral)."""

    def __init__(self, *, port: int = 0, host: str = "127.0.0.1", **knobs: Any) -> None:
        self.knobs = Knobs(**knobs)
        self.host = host
        self._requested_port = port
        self.lock = threading.RLock()
        self.tasks: dict[str, SimTask] = {}
        self.expired: set[str] = set()
        self.results: dict[str, bytes] = {}
        self._render_cache: dict[tuple, tuple[bytes, float]] = {}
        self._render_locks: dict[tuple, threading.Lock] = defaultdict(threading.Lock)
        self._submit_script: deque[dict[str, Any]] = deque()
        self._query_script: deque[dict[str, Any]] = deque()
        self._windows: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self.calls: dict[tuple[str, int], int] = defaultdict(int)
        self.per_second: dict[tuple[str, int], int] = defaultdict(int)
        self._secret = secrets.token_bytes(16)
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sim-prepare")
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> Simulator:
        simulator = self

        class Handler(_Handler):
            sim = simulator

        self._server = ThreadingHTTPServer((self.host, self._requested_port), Handler)
        self._server.daemon_threads = True
        for target, name in ((self._server.serve_forever, "sim-http"), (self._tick, "sim-tick")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._pool.shutdown(wait=True, cancel_futures=True)
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/api/v1"

    # -- knobs and scripts -----------------------------------------------------
    def configure(self, **knobs: Any) -> None:
        with self.lock:
            for name, value in knobs.items():
                if not hasattr(self.knobs, name):
                    raise ValueError(f"unknown knob {name}")
                setattr(self.knobs, name, tuple(value) if name == "api_keys" else value)

    def script(self, *directives: dict[str, Any]) -> None:
        """Queue directives for the next submits, one each, in order.

        ``{"submit": "error", "status": 500, "code": "InternalError"}`` rejects
        without creating; ``{"submit": "drop"}`` creates the task then closes
        the connection unanswered; ``{"submit": "slow", "delay": s}`` creates
        it and answers after ``s`` real seconds. ``{"outcome": "FAILED",
        "code": ..., "message": ...}``, ``{"outcome": "UNKNOWN"}`` and
        ``{"run_seconds": s}`` shape the task's end. Keys combine.
        """
        with self.lock:
            self._submit_script.extend(directives)

    def script_queries(self, *directives: dict[str, Any]) -> None:
        """Queue answers for the next task queries: ``{"status": 500, "code": ...}``
        or ``{"delay": s}`` (answer late, so a client times out)."""
        with self.lock:
            self._query_script.extend(directives)

    def max_per_second(self, kind: str) -> int:
        with self.lock:
            return max((n for (k, _), n in self.per_second.items() if k == kind), default=0)

    def call_count(self, kind: str, status: int | None = None) -> int:
        with self.lock:
            return sum(n for (k, s), n in self.calls.items() if k == kind and status in (None, s))

    def stats(self) -> dict[str, Any]:
        with self.lock:
            by_status: dict[str, int] = defaultdict(int)
            for task in self.tasks.values():
                by_status[task.status] += 1
            return {
                "tasks": dict(by_status),
                "calls": {f"{k} {s}": n for (k, s), n in sorted(self.calls.items())},
                "max_per_second": {
                    kind: self.max_per_second(kind) for kind in ("submit", "query", "cancel")
                },
            }

    def task_times(self) -> list[dict[str, Any]]:
        """Every task's real-clock times (epoch seconds), for benchmarks."""
        with self.lock:
            return [
                {
                    "task_id": t.task_id,
                    "status": t.status,
                    "created": t.created,
                    "scheduled": t.scheduled,
                    "end": t.end,
                }
                for t in self.tasks.values()
            ]

    # -- the provider's clock ----------------------------------------------------
    def _real(self, simulated_seconds: float) -> float:
        return simulated_seconds / self.knobs.time_scale

    def _tick(self) -> None:
        while not self._stop.wait(0.01):
            now = time.time()
            to_prepare: list[SimTask] = []
            with self.lock:
                retention = self._real(RETENTION_SECONDS)
                running: dict[str, int] = defaultdict(int)
                for task in list(self.tasks.values()):
                    if now - task.created > retention:
                        del self.tasks[task.task_id]
                        self.results.pop(task.task_id, None)
                        self.expired.add(task.task_id)
                        continue
                    if task.status == "RUNNING":
                        if task.prepared and task.ready_at is not None and now >= task.ready_at:
                            self._finish(task, now)
                        else:
                            running[task.api_key] += 1
                pending = sorted(
                    (t for t in self.tasks.values() if t.status == "PENDING"),
                    key=lambda t: t.created,
                )
                delay = self._real(self.knobs.schedule_delay)
                for task in pending:
                    if now - task.created < delay:
                        continue
                    if running[task.api_key] >= self.knobs.max_concurrency:
                        continue
                    running[task.api_key] += 1
                    task.status = "RUNNING"
                    task.scheduled = now
                    to_prepare.append(task)
            for task in to_prepare:
                self._pool.submit(self._prepare, task)

    def _finish(self, task: SimTask, now: float) -> None:
        task.end = now
        if task.code:
            task.status = "FAILED"
        elif task.outcome.get("outcome") == "UNKNOWN":
            del self.tasks[task.task_id]
            self.expired.add(task.task_id)
        else:
            task.status = "SUCCEEDED"

    def _prepare(self, task: SimTask) -> None:
        """Fetch and check the inputs, render the result; runs while the task is RUNNING."""
        code = message = None
        outcome = task.outcome.get("outcome")
        duration = 0.0
        try:
            if outcome == "FAILED":
                code = task.outcome.get("code", "InternalError.Algo")
                message = task.outcome.get("message", MESSAGES.get(code, "The task failed."))
            elif outcome != "UNKNOWN":
                image_bytes = media.fetch(
                    task.image_url, limit=media.MAX_IMAGE_BYTES, timeout=self.knobs.fetch_timeout
                )
                image = media.check_image(image_bytes)
                video_bytes = media.fetch(
                    task.video_url, limit=media.MAX_VIDEO_BYTES, timeout=self.knobs.fetch_timeout
                )
                info = media.probe_video(video_bytes)
                duration = info.duration
                if random.random() < self.knobs.failure_rate:
                    code, message = "InternalError.Algo", MESSAGES["InternalError.Algo"]
                else:
                    data, duration = self._render(task, image_bytes, image, video_bytes)
                    with self.lock:
                        self.results[task.task_id] = data
                        task.video_duration = duration
        except media.InputError as exc:
            code, message = exc.code, exc.message
        except Exception as exc:  # the provider's own crash is a task failure, not ours
            code, message = "InternalError", f"{MESSAGES['InternalError']} ({exc})"
        run = task.outcome.get("run_seconds")
        if run is None:
            run = self.knobs.run_base[task.mode] + self.knobs.run_per_second[task.mode] * duration
            run *= 1 + random.uniform(-self.knobs.jitter, self.knobs.jitter)
        if code:
            run = min(run, self.knobs.run_base[task.mode])
        with self.lock:
            task.code, task.message = code, message
            task.run_seconds = run
            assert task.scheduled is not None
            task.ready_at = task.scheduled + self._real(run)
            task.prepared = True

    def _render(
        self, task: SimTask, image_bytes: bytes, image: Any, video_bytes: bytes
    ) -> tuple[bytes, float]:
        # Same inputs give the same output, so renders are shared (cheap benchmarks).
        key = (
            hashlib.sha256(image_bytes).digest(),
            hashlib.sha256(video_bytes).digest(),
            task.model,
            task.mode,
            task.watermark,
            self.knobs.short_side,
        )
        with self._render_locks[key]:
            if key not in self._render_cache:
                self._render_cache[key] = media.render(
                    model=task.model,
                    image=image,
                    video=video_bytes,
                    fps=MODES[task.mode][1],
                    short_side=self.knobs.short_side,
                    watermark=task.watermark,
                )
            return self._render_cache[key]

    # -- request handling (called from _Handler) ---------------------------------
    def _limited(self, api_key: str, kind: str, now: float) -> bool:
        limit = self.knobs.submit_rps if kind == "submit" else self.knobs.query_rps
        span = 1.0 / self.knobs.time_scale  # one provider second
        window = self._windows[(api_key, kind)]
        while window and now - window[0] >= span:
            window.popleft()
        if len(window) >= limit:
            return True
        window.append(now)
        return False

    def sign(self, task_id: str, expires: int) -> str:
        return hmac.new(self._secret, f"{task_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def result_url(self, task_id: str, end: float) -> str:
        expires = int(end + self._real(RETENTION_SECONDS)) + 1
        return (
            f"{self.origin}/results/{task_id}.mp4?Expires={expires}"
            f"&Signature={self.sign(task_id, expires)}"
        )

    def task_body(self, task: SimTask) -> dict[str, Any]:
        output: dict[str, Any] = {
            "task_id": task.task_id,
            "task_status": task.status,
            "submit_time": provider_time(task.created),
        }
        if task.scheduled is not None:
            output["scheduled_time"] = provider_time(task.scheduled)
        if task.end is not None:
            output["end_time"] = provider_time(task.end)
        body: dict[str, Any] = {"request_id": str(uuid.uuid4()), "output": output}
        if task.status == "SUCCEEDED":
            assert task.end is not None
            output["results"] = {"video_url": self.result_url(task.task_id, task.end)}
            body["usage"] = {
                "video_duration": task.video_duration,
                "video_ratio": MODES[task.mode][0],
            }
        elif task.status == "FAILED":
            output["code"], output["message"] = task.code, task.message
        return body


def _error(code: str, message: str | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "message": message or MESSAGES.get(code, code),
        "request_id": str(uuid.uuid4()),
    }


class _DropConnection(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    sim: Simulator
    protocol_version = "HTTP/1.1"
    server_version = "DashScopeSimulator/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        return

    # -- plumbing ----------------------------------------------------------------
    def _send(self, status: int, body: dict[str, Any] | bytes, content_type: str = "") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if isinstance(body, dict) and body.get("request_id"):
            self.send_header("X-Request-Id", body["request_id"])
        self.end_headers()
        self.wfile.write(data)

    def _json_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else None

    def _record(self, kind: str, status: int) -> None:
        with self.sim.lock:
            self.sim.calls[(kind, status)] += 1

    def _api_key(self) -> str | None:
        header = self.headers.get("Authorization", "")
        return header[7:].strip() if header.startswith("Bearer ") else None

    def _gate(self, kind: str) -> str | None:
        """Auth, rate limit and injected faults shared by every API call.

        Returns the key, or ``None`` once an error has been answered."""
        sim = self.sim
        if sim.knobs.latency:
            time.sleep(sim.knobs.latency)
        key = self._api_key()
        if not key:
            self._answer(kind, 401, _error("InvalidApiKey", "No API-key provided."))
            return None
        allowed = sim.knobs.api_keys or ()
        if (allowed and key not in allowed) or (not allowed and not key.startswith("sk-")):
            self._answer(kind, 401, _error("InvalidApiKey"))
            return None
        now = time.time()
        with sim.lock:
            sim.per_second[(kind, int(now * sim.knobs.time_scale))] += 1
            limited = sim._limited(key, kind, now)
        if limited or random.random() < sim.knobs.throttle_rate:
            self._answer(kind, 429, _error("Throttling.RateQuota"))
            return None
        if random.random() < sim.knobs.error_rate:
            self._answer(kind, 500, _error("InternalError"))
            return None
        return key

    def _answer(self, kind: str, status: int, body: dict[str, Any]) -> None:
        self._record(kind, status)
        self._send(status, body)

    # -- routes ------------------------------------------------------------------
    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        try:
            if path in CREATE_PATHS:
                self._create()
            elif path.startswith("/api/v1/tasks/") and path.endswith("/cancel"):
                self._cancel(path.removeprefix("/api/v1/tasks/").removesuffix("/cancel"))
            elif path == "/__sim__/configure":
                self.sim.configure(**(self._json_body() or {}))
                self._send(200, self.sim.stats())
            elif path == "/__sim__/script":
                body = self._json_body() or {}
                self.sim.script(*body.get("submit", []))
                self.sim.script_queries(*body.get("query", []))
                self._send(200, {"ok": True})
            else:
                self._send(404, _error("NotFound", "Not found."))
        except _DropConnection:
            self.close_connection = True

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/api/v1/tasks" or path == "/api/v1/tasks/":
            self._list(parse_qs(parts.query))
        elif path.startswith("/api/v1/tasks/"):
            self._query(path.removeprefix("/api/v1/tasks/").strip("/"))
        elif path.startswith("/results/"):
            self._result(path.removeprefix("/results/").removesuffix(".mp4"), parse_qs(parts.query))
        elif path == "/__sim__/stats":
            self._send(200, self.sim.stats())
        elif path == "/__sim__/tasks":
            self._send(200, {"tasks": self.sim.task_times()})
        else:
            self._send(404, _error("NotFound", "Not found."))

    def _create(self) -> None:
        sim = self.sim
        key = self._gate("submit")
        if key is None:
            return
        if self.headers.get("X-DashScope-Async", "").lower() != "enable":
            self._answer("submit", 403, _error("AccessDenied"))
            return
        try:
            body = self._json_body()
        except ValueError:
            self._answer("submit", 400, _error("InvalidParameter"))
            return
        problem = _validate(body, oss_resolve=self.headers.get("X-DashScope-OssResourceResolve"))
        if problem:
            self._answer("submit", 400, _error("InvalidParameter", problem))
            return
        with sim.lock:
            directive = sim._submit_script.popleft() if sim._submit_script else {}
            if directive.get("submit") == "error":
                code = directive.get("code", "InternalError")
                self._answer(
                    "submit", directive.get("status", 500), _error(code, directive.get("message"))
                )
                return
            in_flight = sum(
                1
                for t in sim.tasks.values()
                if t.api_key == key and t.status in {"PENDING", "RUNNING"}
            )
            if sim.knobs.overflow == "reject" and in_flight >= sim.knobs.max_concurrency:
                self._answer("submit", 429, _error("Throttling.AllocationQuota"))
                return
            task = SimTask(
                task_id=str(uuid.uuid4()),
                api_key=key,
                model=body["model"],
                mode=body["parameters"]["mode"],
                image_url=body["input"]["image_url"],
                video_url=body["input"]["video_url"],
                watermark=bool(body["input"].get("watermark", False)),
                request_id=str(uuid.uuid4()),
                created=time.time(),
                outcome=directive,
            )
            sim.tasks[task.task_id] = task
        self._record("submit", 200)
        if directive.get("submit") == "drop":
            raise _DropConnection
        if directive.get("submit") == "slow":
            time.sleep(float(directive.get("delay", 5)))
        self._send(
            200,
            {
                "output": {"task_status": "PENDING", "task_id": task.task_id},
                "request_id": task.request_id,
            },
        )

    def _query(self, task_id: str) -> None:
        sim = self.sim
        key = self._gate("query")
        if key is None:
            return
        with sim.lock:
            directive = sim._query_script.popleft() if sim._query_script else {}
        if "delay" in directive:
            time.sleep(float(directive["delay"]))
        if "status" in directive:
            code = directive.get("code", "InternalError")
            self._answer("query", directive["status"], _error(code, directive.get("message")))
            return
        with sim.lock:
            task = sim.tasks.get(task_id)
            if task is None or task.api_key != key:
                body = {
                    "request_id": str(uuid.uuid4()),
                    "output": {"task_id": task_id, "task_status": "UNKNOWN"},
                }
            else:
                body = sim.task_body(task)
        self._answer("query", 200, body)

    def _cancel(self, task_id: str) -> None:
        sim = self.sim
        key = self._gate("cancel")
        if key is None:
            return
        with sim.lock:
            task = sim.tasks.get(task_id)
            if task is None or task.api_key != key or task.status != "PENDING":
                self._answer(
                    "cancel",
                    400,
                    _error(
                        "UnsupportedOperation",
                        "Failed to cancel the task, please confirm if the task is in PENDING status.",
                    ),
                )
                return
            task.status = "CANCELED"
            task.end = time.time()
        self._answer("cancel", 200, {"request_id": str(uuid.uuid4())})

    def _list(self, query: dict[str, list[str]]) -> None:
        """``GET /tasks``: the account's tasks in a submit-time window, newest first."""
        sim = self.sim
        key = self._gate("query")
        if key is None:
            return

        def param(name: str) -> str | None:
            return query.get(name, [None])[0]

        def parse(value: str | None) -> float | None:
            if not value:
                return None
            moment = datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=PROVIDER_TZ)
            return moment.timestamp()

        try:
            start, end = parse(param("start_time")), parse(param("end_time"))
            page_no = max(1, int(param("page_no") or 1))
            page_size = min(100, max(1, int(param("page_size") or 10)))
        except ValueError:
            self._answer("query", 400, _error("InvalidParameter"))
            return
        with sim.lock:
            rows = [
                t
                for t in sim.tasks.values()
                if t.api_key == key
                and (start is None or t.created >= start)
                and (end is None or t.created < end + 1)
                and (not param("model_name") or t.model == param("model_name"))
                and (not param("status") or t.status == param("status"))
            ]
            rows.sort(key=lambda t: t.created, reverse=True)
            page = rows[(page_no - 1) * page_size : page_no * page_size]
            data = [
                {
                    "task_id": t.task_id,
                    "status": t.status,
                    "model_name": t.model,
                    "request_id": t.request_id,
                    "gmt_create": int(t.created * 1000),
                    "start_time": provider_time(t.created),
                    "end_time": provider_time(t.end) if t.end else None,
                }
                for t in page
            ]
        self._answer(
            "query",
            200,
            {
                "request_id": str(uuid.uuid4()),
                "data": data,
                "total": len(rows),
                "total_page": (len(rows) + page_size - 1) // page_size,
                "page_no": page_no,
                "page_size": page_size,
            },
        )

    def _result(self, task_id: str, query: dict[str, list[str]]) -> None:
        sim = self.sim
        try:
            expires = int(query.get("Expires", ["0"])[0])
        except ValueError:
            expires = 0
        signature = query.get("Signature", [""])[0]
        valid = hmac.compare_digest(signature, sim.sign(task_id, expires))
        with sim.lock:
            data = sim.results.get(task_id)
            failing = sim.knobs.result_failures > 0
            if failing:
                sim.knobs.result_failures -= 1
        if failing:
            self._send(503, b"<Error><Code>ServiceUnavailable</Code></Error>", "application/xml")
            return
        if not valid or expires < time.time() or data is None:
            body = (
                b"<Error><Code>AccessDenied</Code><Message>Request has expired.</Message></Error>"
            )
            self._send(403, body, "application/xml")
            return
        self._send(200, data, "video/mp4")


def _validate(body: Any, *, oss_resolve: str | None) -> str | None:
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    if body.get("model") not in MODELS:
        return "Model not exist."
    data = body.get("input")
    params = body.get("parameters")
    if not isinstance(data, dict):
        return "Field required: input."
    if not isinstance(params, dict):
        return "Field required: parameters."
    if params.get("mode") not in MODES:
        return "parameters.mode must be one of wan-std, wan-pro."
    for name in ("image_url", "video_url"):
        url = data.get(name)
        if not isinstance(url, str) or not url:
            return f"Field required: input.{name}."
        scheme = urlsplit(url).scheme
        if scheme == "oss" and (oss_resolve or "").lower() != "enable":
            return f"input.{name}: oss:// URLs need X-DashScope-OssResourceResolve: enable."
        if scheme not in {"http", "https", "oss"}:
            return f"input.{name} must be an HTTP or HTTPS URL."
        if not url.isascii():
            return f"input.{name} must be URL-encoded."
    if "watermark" in data and not isinstance(data["watermark"], bool):
        return "input.watermark must be a boolean."
    if "check_image" in params and not isinstance(params["check_image"], bool):
        return "parameters.check_image must be a boolean."
    return None
