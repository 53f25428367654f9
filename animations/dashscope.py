"""The DashScope wan2.2-animate HTTP client: the one boundary with the provider.

Every provider error is classified here, once: ``ProviderError.retryable``
(429 ``Throttling*``, 5xx, timeouts, connection errors) or terminal
(``InvalidParameter*``, ``InvalidFile*``, ``DataInspectionFailed``, auth...).
A submit that may have reached the provider without an answer (read timeout,
reset after sending) is marked ``unknown_outcome``: it must be reconciled with
the provider's task list, never sent blindly again. One that provably never
left (no connection could be made: refused, no route, connect timeout, TLS
handshake) is ``not_sent``: the dispatcher spends no try on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
from django.conf import settings

from animations import metrics
from animations.limiter import Limiter, get_limiter

CREATE_PATH = "/services/aigc/image2video/video-synthesis"
# DashScope writes its timestamps without a zone, in China Standard Time.
PROVIDER_TZ = timezone(timedelta(hours=8))


class ProviderError(Exception):
    """A DashScope call that did not do what was asked."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        request_id: str = "",
        retryable: bool,
        unknown_outcome: bool = False,
        not_sent: bool = False,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.retryable = retryable
        self.unknown_outcome = unknown_outcome
        # Provably nothing reached the provider (no connection was made).
        self.not_sent = not_sent
        self.body = body or {}


@dataclass(frozen=True)
class Submission:
    task_id: str
    status: str
    request_id: str
    raw: dict[str, Any]


@dataclass(frozen=True)
class TaskState:
    task_id: str
    status: str
    request_id: str
    submit_time: datetime | None = None
    scheduled_time: datetime | None = None
    end_time: datetime | None = None
    video_url: str | None = None
    video_duration: float | None = None
    video_ratio: str | None = None
    code: str | None = None
    message: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def parse_time(value: Any) -> datetime | None:
    """``2025-09-18 15:32:00.105`` (provider zone) -> an aware UTC datetime."""
    if not value or not isinstance(value, str):
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=PROVIDER_TZ).astimezone(UTC)
        except ValueError:
            continue
    return None


def is_retryable(status: int | None, code: str) -> bool:
    if code.startswith("Throttling") or status == 429:
        return True
    if status is not None and status >= 500:
        return code != "InternalError.Timeout"
    return code in {"RequestTimeOut", "ServiceUnavailable"}


def parse_error(response: httpx.Response) -> ProviderError:
    """Errors come flat (``{code, message}``) or inside ``output``; both are read."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    raw_output = body.get("output")
    output: dict[str, Any] = raw_output if isinstance(raw_output, dict) else {}
    code = body.get("code") or output.get("code") or f"HTTP{response.status_code}"
    message = body.get("message") or output.get("message") or response.reason_phrase
    return ProviderError(
        str(code),
        str(message),
        status=response.status_code,
        request_id=str(body.get("request_id") or response.headers.get("X-Request-Id", "")),
        retryable=is_retryable(response.status_code, str(code)),
        body=body,
    )


def parse_task(body: dict[str, Any]) -> TaskState:
    output = body.get("output") or {}
    usage = body.get("usage") or {}
    raw_results = output.get("results")
    results: dict[str, Any] = raw_results if isinstance(raw_results, dict) else {}
    video_url = results.get("video_url") or output.get("video_url") or None
    duration = usage.get("video_duration")
    return TaskState(
        task_id=str(output.get("task_id", "")),
        status=str(output.get("task_status", "UNKNOWN")),
        request_id=str(body.get("request_id", "")),
        submit_time=parse_time(output.get("submit_time")),
        scheduled_time=parse_time(output.get("scheduled_time")),
        end_time=parse_time(output.get("end_time")),
        video_url=video_url,
        video_duration=float(duration) if duration is not None else None,
        video_ratio=usage.get("video_ratio"),
        code=output.get("code"),
        message=output.get("message"),
        raw=body,
    )


def rate_kind(call: str) -> str:
    """The provider limit a call counts against: create calls, or everything else."""
    return "submit" if call == "submit" else "query"


class DashScopeClient:
    """One API key at one base URL. Every call first takes a token from the shared
    limiter, so all workers together stay within the key's documented rates. A
    call finding none raises ``RateLimited`` at once unless it allows a
    ``max_wait`` (only callers a person waits on do); ``submit`` can be told that
    its caller already took its token (``token_taken``)."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        limiter: Limiter | None = None,
        timeout: httpx.Timeout | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.limiter = limiter or get_limiter()
        self.timeout = timeout or httpx.Timeout(
            settings.DASHSCOPE_READ_TIMEOUT, connect=settings.DASHSCOPE_CONNECT_TIMEOUT
        )
        self._http = httpx.Client(
            timeout=self.timeout,
            transport=transport,
            headers={"Authorization": f"Bearer {api_key}"},
        )

    @property
    def key_id(self) -> str:
        """A name for the key that is safe to store and log (not the secret)."""
        import hashlib

        return hashlib.sha256(self.api_key.encode()).hexdigest()[:16]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DashScopeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls ---------------------------------------------------------------------
    def submit(
        self,
        *,
        model: str,
        image_url: str,
        video_url: str,
        mode: str,
        watermark: bool,
        check_image: bool = True,
        token_taken: bool = False,
    ) -> Submission:
        body = {
            "model": model,
            "input": {"image_url": image_url, "video_url": video_url, "watermark": watermark},
            "parameters": {"mode": mode, "check_image": check_image},
        }
        headers = {"X-DashScope-Async": "enable"}
        if image_url.startswith("oss://") or video_url.startswith("oss://"):
            headers["X-DashScope-OssResourceResolve"] = "enable"
        data = self._call(
            "submit", "POST", CREATE_PATH, json=body, headers=headers, token_taken=token_taken
        )
        output = data.get("output") or {}
        task_id = output.get("task_id")
        if not task_id:
            raise ProviderError(
                "MalformedResponse",
                "The create response carried no task_id.",
                request_id=str(data.get("request_id", "")),
                retryable=False,
                unknown_outcome=True,
                body=data,
            )
        return Submission(
            task_id=str(task_id),
            status=str(output.get("task_status", "PENDING")),
            request_id=str(data.get("request_id", "")),
            raw=data,
        )

    def query(self, task_id: str) -> TaskState:
        return parse_task(self._call("query", "GET", f"/tasks/{task_id}"))

    def cancel(self, task_id: str, *, max_wait: float = 0.0) -> dict[str, Any]:
        return self._call("cancel", "POST", f"/tasks/{task_id}/cancel", max_wait=max_wait)

    def list_tasks(
        self, *, start: datetime, end: datetime, model: str | None = None, page_size: int = 100
    ) -> list[dict[str, Any]]:
        """Every task of this key created in ``[start, end]`` (all pages)."""

        def stamp(moment: datetime) -> str:
            return moment.astimezone(PROVIDER_TZ).strftime("%Y%m%d%H%M%S")

        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            params: dict[str, Any] = {
                "start_time": stamp(start),
                "end_time": stamp(end),
                "page_no": page,
                "page_size": page_size,
            }
            if model:
                params["model_name"] = model
            data = self._call("query", "GET", "/tasks", params=params)
            batch = data.get("data") or []
            rows.extend(batch)
            if len(batch) < page_size or page >= int(data.get("total_page") or page):
                return rows
            page += 1

    def _call(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        max_wait: float = 0.0,
        token_taken: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        if not token_taken:
            self.limiter.acquire(self.key_id, rate_kind(kind), max_wait=max_wait)
        try:
            response = self._http.request(method, f"{self.base_url}{path}", **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing reached the provider: safe to send again.
            metrics.PROVIDER_CALLS.labels(kind=kind, outcome="connect_error").inc()
            # The message may reach the task's error (clients read it): ours. What
            # the connection said is kept in the raw body, for the logs and staff.
            raise ProviderError(
                "ConnectionError",
                "The provider could not be reached.",
                retryable=True,
                not_sent=True,
                body={"code": "ConnectionError", "message": str(exc) or type(exc).__name__},
            ) from exc
        except httpx.TransportError as exc:
            # The request may have been received: a submit's outcome is unknown.
            metrics.PROVIDER_CALLS.labels(kind=kind, outcome="timeout").inc()
            code = "Timeout" if isinstance(exc, httpx.TimeoutException) else "ConnectionReset"
            raise ProviderError(
                code,
                "The connection to the provider failed.",
                retryable=True,
                unknown_outcome=kind == "submit",
                body={"code": code, "message": str(exc) or type(exc).__name__},
            ) from exc
        if response.status_code != 200:
            error = parse_error(response)
            metrics.PROVIDER_CALLS.labels(kind=kind, outcome=str(response.status_code)).inc()
            raise error
        metrics.PROVIDER_CALLS.labels(kind=kind, outcome="200").inc()
        try:
            data = response.json()
        except ValueError as exc:
            raise ProviderError(
                "MalformedResponse",
                "The provider answered with something that is not JSON.",
                status=200,
                retryable=True,
                unknown_outcome=kind == "submit",
            ) from exc
        return data if isinstance(data, dict) else {}
