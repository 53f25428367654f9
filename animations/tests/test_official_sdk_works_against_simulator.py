"""The official ``dashscope`` SDK's generic async call, fetch, wait, cancel and list work
against the simulator: the simulator is only as good as its fidelity."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from dashscope.client.base_api import BaseAsyncApi

from storage.tests.media import make_image, make_video


@pytest.fixture
def sdk_base(simulator, monkeypatch) -> str:
    import dashscope

    # The SDK reads its base URL from this module attribute (DASHSCOPE_HTTP_BASE_URL).
    monkeypatch.setattr(dashscope, "base_http_api_url", simulator.base_url)
    return simulator.base_url


def test_sdk_async_call_fetch_and_wait_get_the_result(sdk_base, media_host) -> None:
    image = media_host.put("person.jpg", make_image(), "image/jpeg")
    video = media_host.put("ref.mp4", make_video(2.0, 320, 240, 5), "video/mp4")
    # When the SDK creates the task the documented way
    created = BaseAsyncApi.async_call(
        model="wan2.2-animate-mix",
        input={"image_url": image, "video_url": video, "watermark": True},
        task_group="aigc",
        task="image2video",
        function="video-synthesis",
        api_key="sk-sdk",
        mode="wan-std",
        check_image=True,
    )
    # Then
    assert created.status_code == HTTPStatus.OK
    assert created.output["task_status"] == "PENDING"
    fetched = BaseAsyncApi.fetch(created, api_key="sk-sdk")
    assert fetched.status_code == HTTPStatus.OK
    assert fetched.output["task_id"] == created.output["task_id"]
    done = BaseAsyncApi.wait(created, api_key="sk-sdk")
    assert done.output["task_status"] == "SUCCEEDED"
    assert done.output["results"]["video_url"].startswith(sdk_base.removesuffix("/api/v1"))
    assert done.usage["video_duration"] == 2.0
    assert done.usage["video_ratio"] == "standard"
    listing = BaseAsyncApi.list(
        start_time="20000101000000", end_time="29991231000000", api_key="sk-sdk"
    )
    assert [row["task_id"] for row in listing.output["data"]] == [created.output["task_id"]]


def test_sdk_sees_auth_errors_and_cancel_errors(sdk_base) -> None:
    created = BaseAsyncApi.async_call(
        model="wan2.2-animate-move",
        input={"image_url": "http://127.0.0.1:9/a.jpg", "video_url": "http://127.0.0.1:9/v.mp4"},
        task_group="aigc",
        task="image2video",
        function="video-synthesis",
        api_key="bad-key",
        mode="wan-std",
    )
    assert created.status_code == HTTPStatus.UNAUTHORIZED
    assert created.code == "InvalidApiKey"
    canceled = BaseAsyncApi.cancel("no-such-task", api_key="sk-sdk")
    assert canceled.status_code == HTTPStatus.BAD_REQUEST
    assert canceled.code == "UnsupportedOperation"
