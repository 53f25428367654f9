"""The simulator behaves as reference/dashscope.md describes DashScope, checked over real HTTP."""

from __future__ import annotations

import io
import time

import av
import httpx
import pytest

from animations.simulator import Simulator
from storage.tests.media import make_image, make_video

CREATE = "/services/aigc/image2video/video-synthesis"
KEY = "sk-test"


def _body(
    image_url: str, video_url: str, *, model: str = "wan2.2-animate-move", mode: str = "wan-std"
) -> dict:
    return {
        "model": model,
        "input": {"image_url": image_url, "video_url": video_url, "watermark": False},
        "parameters": {"mode": mode, "check_image": True},
    }


def _headers(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-DashScope-Async": "enable"}


def _wait(sim: Simulator, task_id: str, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = httpx.get(f"{sim.base_url}/tasks/{task_id}", headers=_headers()).json()
        if body["output"]["task_status"] not in {"PENDING", "RUNNING"}:
            return body
        time.sleep(0.02)
    raise AssertionError("task did not finish")


@pytest.fixture
def inputs(media_host) -> tuple[str, str]:
    image = media_host.put("person.png", make_image(400, 600, "PNG"), "image/png")
    video = media_host.put("dance.mp4", make_video(2.5, 320, 240, 5, audio=True), "video/mp4")
    return image, video


def test_submit_without_key_is_401_invalid_api_key(simulator) -> None:
    # Given no Authorization header / When submitting
    response = httpx.post(
        f"{simulator.base_url}{CREATE}", json={}, headers={"X-DashScope-Async": "enable"}
    )
    # Then
    assert response.status_code == 401
    assert response.json()["code"] == "InvalidApiKey"
    assert response.json()["message"] == "No API-key provided."
    assert simulator.tasks == {}


def test_submit_without_async_header_is_403_access_denied(simulator, inputs) -> None:
    response = httpx.post(
        f"{simulator.base_url}{CREATE}",
        json=_body(*inputs),
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "AccessDenied"
    assert simulator.tasks == {}


@pytest.mark.parametrize(
    "change",
    [
        {"model": "wan2.2-i2v"},
        {"parameters": {"mode": "wan-max"}},
        {"parameters": None},
        {"input": {"image_url": "ftp://x/a.png", "video_url": "http://127.0.0.1/v.mp4"}},
    ],
)
def test_invalid_body_is_400_invalid_parameter(simulator, inputs, change) -> None:
    body = {**_body(*inputs), **change}
    response = httpx.post(f"{simulator.base_url}{CREATE}", json=body, headers=_headers())
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameter"
    assert simulator.tasks == {}


def test_sixth_submit_in_one_second_is_throttled(inputs) -> None:
    with Simulator(time_scale=1.0, max_concurrency=10) as sim:
        codes = [
            httpx.post(
                f"{sim.base_url}{CREATE}", json=_body(*inputs), headers=_headers()
            ).status_code
            for _ in range(6)
        ]
        assert codes[:5] == [200] * 5
        assert codes[5] == 429
        assert len(sim.tasks) == 5


def test_move_task_runs_to_a_playable_720p_result(simulator, inputs) -> None:
    # Given a submitted wan-pro move task over a video with audio
    response = httpx.post(
        f"{simulator.base_url}{CREATE}", json=_body(*inputs, mode="wan-pro"), headers=_headers()
    )
    assert response.status_code == 200
    assert response.json()["output"]["task_status"] == "PENDING"
    task_id = response.json()["output"]["task_id"]
    # When it finishes
    body = _wait(simulator, task_id)
    # Then it succeeded with the documented fields and a real H.264 MP4
    output = body["output"]
    assert output["task_status"] == "SUCCEEDED"
    assert set(output) >= {"submit_time", "scheduled_time", "end_time", "results"}
    assert body["usage"] == {"video_duration": 2.48, "video_ratio": "pro"}
    video = httpx.get(output["results"]["video_url"])
    assert video.status_code == 200
    with av.open(io.BytesIO(video.content)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (960, 720)
        assert stream.average_rate == 25
        assert len(container.streams.audio) == 1


def test_result_url_with_a_forged_signature_is_refused(simulator, inputs) -> None:
    task_id = httpx.post(
        f"{simulator.base_url}{CREATE}", json=_body(*inputs), headers=_headers()
    ).json()["output"]["task_id"]
    url = _wait(simulator, task_id)["output"]["results"]["video_url"]
    assert httpx.get(url.replace("Signature=", "Signature=0")).status_code == 403


def test_video_too_short_fails_the_task_with_invalid_file_duration(simulator, media_host) -> None:
    image = media_host.put("p.jpg", make_image(), "image/jpeg")
    video = media_host.put("short.mp4", make_video(1.0, 320, 240, 5), "video/mp4")
    task_id = httpx.post(
        f"{simulator.base_url}{CREATE}", json=_body(image, video), headers=_headers()
    ).json()["output"]["task_id"]
    body = _wait(simulator, task_id)
    assert body["output"]["task_status"] == "FAILED"
    assert body["output"]["code"] == "InvalidFile.Duration"
    assert "usage" not in body
    assert "results" not in body["output"]


@pytest.mark.parametrize(
    ("image", "video", "code"),
    [
        (b"not an image at all", None, "InvalidImage.FileFormat"),
        (make_image(150, 300), None, "InvalidFile.Resolution"),
        (make_image(1000, 300), None, "InvalidFile.AspectRatio"),
        (None, make_video(2.5, 640, 200, 5), "InvalidFile.AspectRatio"),
        (None, b"not a video", "InvalidFile.Openerror"),
        ("missing", None, "BadRequest.InputDownloadFailed"),
    ],
    ids=["image-format", "image-small", "image-wide", "video-wide", "video-garbage", "404"],
)
def test_inputs_outside_the_documented_limits_fail_the_task_with_their_code(
    simulator, media_host, inputs, image, video, code
) -> None:
    # Given one input that breaks a documented limit, the other one fine
    image_url, video_url = inputs
    if image == "missing":
        image_url = image_url.replace("person.png", "nowhere.png")
    elif image is not None:
        image_url = media_host.put("bad.jpg", image, "image/jpeg")
    if video is not None:
        video_url = media_host.put("bad.mp4", video, "video/mp4")
    # When the task runs
    task_id = httpx.post(
        f"{simulator.base_url}{CREATE}", json=_body(image_url, video_url), headers=_headers()
    ).json()["output"]["task_id"]
    body = _wait(simulator, task_id)
    # Then it fails with the documented code, with no result and no usage
    assert body["output"]["task_status"] == "FAILED"
    assert body["output"]["code"] == code
    assert "results" not in body["output"]
    assert "usage" not in body


def test_non_loopback_input_url_is_never_fetched(simulator) -> None:
    body = _body("http://203.0.113.7/p.jpg", "http://203.0.113.7/v.mp4")
    task_id = httpx.post(f"{simulator.base_url}{CREATE}", json=body, headers=_headers()).json()[
        "output"
    ]["task_id"]
    result = _wait(simulator, task_id)
    assert result["output"]["task_status"] == "FAILED"
    assert result["output"]["code"] == "InvalidParameter.DataInspection"


def test_unknown_id_is_unknown_and_only_pending_tasks_cancel(inputs) -> None:
    with Simulator(time_scale=1000.0, schedule_delay=10_000.0) as sim:
        unknown = httpx.get(f"{sim.base_url}/tasks/nope", headers=_headers()).json()
        assert unknown["output"] == {"task_id": "nope", "task_status": "UNKNOWN"}
        task_id = httpx.post(
            f"{sim.base_url}{CREATE}", json=_body(*inputs), headers=_headers()
        ).json()["output"]["task_id"]
        assert (
            httpx.post(f"{sim.base_url}/tasks/{task_id}/cancel", headers=_headers()).status_code
            == 200
        )
        body = httpx.get(f"{sim.base_url}/tasks/{task_id}", headers=_headers()).json()
        assert body["output"]["task_status"] == "CANCELED"
        again = httpx.post(f"{sim.base_url}/tasks/{task_id}/cancel", headers=_headers())
        assert again.status_code == 400
        assert again.json()["code"] == "UnsupportedOperation"


def test_second_task_waits_pending_while_the_one_slot_is_busy(inputs) -> None:
    # Given a key with one slot and a first job that holds it far longer than the
    # test looks (it ran 0.5 s real before: a loaded machine's pause between the
    # create and the checks let it finish, and the second was RUNNING, the flake)
    with Simulator(time_scale=1000.0, schedule_delay=0.0) as sim:
        sim.script({"run_seconds": 60_000.0})
        first, second = (
            httpx.post(f"{sim.base_url}{CREATE}", json=_body(*inputs), headers=_headers()).json()[
                "output"
            ]["task_id"]
            for _ in range(2)
        )

        def status(task_id: str) -> str:
            body = httpx.get(f"{sim.base_url}/tasks/{task_id}", headers=_headers()).json()
            return str(body["output"]["task_status"])

        # When the first has started
        deadline = time.monotonic() + 10
        while status(first) != "RUNNING":
            assert time.monotonic() < deadline, "the first job never started"
            time.sleep(0.02)
        # Then the second waits PENDING over many scheduler ticks, the first still running
        for _ in range(15):
            assert status(second) == "PENDING"
            time.sleep(0.02)
        assert status(first) == "RUNNING"


def test_task_list_shows_tasks_in_the_window(simulator, inputs) -> None:
    task_id = httpx.post(
        f"{simulator.base_url}{CREATE}", json=_body(*inputs), headers=_headers()
    ).json()["output"]["task_id"]
    listing = httpx.get(
        f"{simulator.base_url}/tasks",
        params={"start_time": "20000101000000", "end_time": "29991231000000", "page_size": 10},
        headers=_headers(),
    ).json()
    assert [row["task_id"] for row in listing["data"]] == [task_id]
    other = httpx.get(
        f"{simulator.base_url}/tasks",
        params={"start_time": "20000101000000"},
        headers=_headers("sk-other"),
    ).json()
    assert other["data"] == []


def test_task_ids_expire_to_unknown_after_24_provider_hours(inputs) -> None:
    # 24 provider hours at this scale are about 0.09 s
    with Simulator(time_scale=1_000_000.0, schedule_delay=0.0) as sim:
        task_id = httpx.post(
            f"{sim.base_url}{CREATE}", json=_body(*inputs), headers=_headers()
        ).json()["output"]["task_id"]
        time.sleep(0.5)
        body = httpx.get(f"{sim.base_url}/tasks/{task_id}", headers=_headers()).json()
        assert body["output"] == {"task_id": task_id, "task_status": "UNKNOWN"}


def test_reject_overflow_answers_429_allocation_quota(inputs) -> None:
    with Simulator(time_scale=1000.0, schedule_delay=1e9, overflow="reject") as sim:
        first = httpx.post(f"{sim.base_url}{CREATE}", json=_body(*inputs), headers=_headers())
        second = httpx.post(f"{sim.base_url}{CREATE}", json=_body(*inputs), headers=_headers())
        assert first.status_code == 200
        assert second.status_code == 429
        assert second.json()["code"] == "Throttling.AllocationQuota"
        assert len(sim.tasks) == 1


def test_control_endpoints_script_a_subprocess_simulator(simulator, inputs) -> None:
    # Given a failure scripted over HTTP, as for a simulator in another process
    httpx.post(
        f"{simulator.origin}/__sim__/script",
        json={"submit": [{"submit": "error", "status": 500, "code": "InternalError"}]},
    )
    # When a task is submitted
    response = httpx.post(f"{simulator.base_url}{CREATE}", json=_body(*inputs), headers=_headers())
    # Then it met the scripted failure, and the stats say so
    assert response.status_code == 500
    assert response.json()["code"] == "InternalError"
    stats = httpx.get(f"{simulator.origin}/__sim__/stats").json()
    assert stats["calls"] == {"submit 500": 1}
