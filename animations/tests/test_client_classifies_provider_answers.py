"""The DashScope client against the simulator: results read, errors classified once."""

from __future__ import annotations

import time

import httpx
import pytest

from animations.dashscope import DashScopeClient, ProviderError, parse_task
from animations.limiter import LocalLimiter
from storage.tests.media import make_image, make_video


@pytest.fixture
def client(simulator) -> DashScopeClient:
    return DashScopeClient(base_url=simulator.base_url, api_key="sk-client", limiter=LocalLimiter())


@pytest.fixture
def urls(media_host) -> tuple[str, str]:
    return (
        media_host.put("i.jpg", make_image(), "image/jpeg"),
        media_host.put("v.mp4", make_video(2.0, 320, 240, 5), "video/mp4"),
    )


def _submit(client: DashScopeClient, urls: tuple[str, str]):
    return client.submit(
        model="wan2.2-animate-move",
        image_url=urls[0],
        video_url=urls[1],
        mode="wan-std",
        watermark=False,
    )


def test_submit_then_query_reads_nested_result_and_usage(client, urls) -> None:
    submission = _submit(client, urls)
    assert submission.status == "PENDING"
    assert submission.request_id
    deadline = time.monotonic() + 20
    state = client.query(submission.task_id)
    while state.status in {"PENDING", "RUNNING"} and time.monotonic() < deadline:
        time.sleep(0.02)
        state = client.query(submission.task_id)
    assert state.status == "SUCCEEDED"
    assert state.video_url and "/results/" in state.video_url
    assert state.video_duration == 2.0
    assert state.video_ratio == "standard"
    assert state.submit_time is not None and state.submit_time.tzinfo is not None
    assert state.submit_time <= state.scheduled_time <= state.end_time


def test_flat_and_output_shapes_are_both_read() -> None:
    legacy = parse_task(
        {"output": {"task_id": "t", "task_status": "SUCCEEDED", "video_url": "http://r/x.mp4"}}
    )
    assert legacy.video_url == "http://r/x.mp4"
    failed = parse_task(
        {
            "output": {
                "task_id": "t",
                "task_status": "FAILED",
                "code": "DataInspectionFailed",
                "message": "m",
            }
        }
    )
    assert (failed.code, failed.message) == ("DataInspectionFailed", "m")


@pytest.mark.parametrize(
    ("directive", "code", "retryable"),
    [
        (
            {"submit": "error", "status": 429, "code": "Throttling.RateQuota"},
            "Throttling.RateQuota",
            True,
        ),
        ({"submit": "error", "status": 500, "code": "InternalError"}, "InternalError", True),
        (
            {"submit": "error", "status": 400, "code": "DataInspectionFailed"},
            "DataInspectionFailed",
            False,
        ),
        ({"submit": "error", "status": 400, "code": "Arrearage"}, "Arrearage", False),
    ],
)
def test_submit_errors_are_classified(client, simulator, urls, directive, code, retryable) -> None:
    simulator.script(directive)
    with pytest.raises(ProviderError) as caught:
        _submit(client, urls)
    assert caught.value.code == code
    assert caught.value.retryable is retryable
    assert caught.value.unknown_outcome is False
    assert caught.value.request_id
    assert simulator.tasks == {}


def test_bad_key_is_terminal(simulator, urls) -> None:
    bad = DashScopeClient(base_url=simulator.base_url, api_key="nope", limiter=LocalLimiter())
    with pytest.raises(ProviderError) as caught:
        _submit(bad, urls)
    assert (caught.value.status, caught.value.code, caught.value.retryable) == (
        401,
        "InvalidApiKey",
        False,
    )


@pytest.mark.parametrize("directive", [{"submit": "slow", "delay": 1.0}, {"submit": "drop"}])
def test_lost_answer_after_sending_is_an_unknown_outcome(simulator, urls, directive) -> None:
    client = DashScopeClient(
        base_url=simulator.base_url,
        api_key="sk-client",
        limiter=LocalLimiter(),
        timeout=httpx.Timeout(0.3, connect=1.0),
    )
    simulator.script(directive)
    with pytest.raises(ProviderError) as caught:
        _submit(client, urls)
    assert caught.value.unknown_outcome is True
    assert caught.value.retryable is True
    # The provider did create it: that is why a blind resend would run the job twice.
    assert len(simulator.tasks) == 1


def test_refused_connection_is_retryable_and_known_not_sent(urls) -> None:
    client = DashScopeClient(
        base_url="http://127.0.0.1:9/api/v1", api_key="sk-x", limiter=LocalLimiter()
    )
    with pytest.raises(ProviderError) as caught:
        _submit(client, urls)
    assert (caught.value.retryable, caught.value.unknown_outcome) == (True, False)
    # The message may reach a task's error, which clients read: ours, no address.
    assert caught.value.message == "The provider could not be reached."
    assert "127.0.0.1" not in caught.value.message
    assert caught.value.body["code"] == "ConnectionError"
