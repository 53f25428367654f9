"""Idempotency-Key with URL imports, repeated in parallel: the key is claimed before
anything is imported, so repeats sent while the first request downloads import
nothing (409 idempotency_key_in_use, retry in a second) and repeats after it get
its task; one task, one image and one video stored, one reservation."""

from __future__ import annotations

import threading

import pytest

from animations.models import AnimationTask, CreateClaim
from animations.tests.helpers import account, client_for, funded_user
from billing.services import check_ledger
from config.tests.concurrency import run_together
from storage.models import File
from storage.tests.media import make_image, make_video


@pytest.mark.django_db(transaction=True)
def test_repeats_while_the_first_imports_import_nothing_and_make_no_task(
    provider, media_host, settings
) -> None:
    # Given inputs at URLs, the video's download held until the test lets it go
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0  # the task stays queued: nothing else moves
    user = funded_user(1000)
    body = {
        "image_url": media_host.put("me.png", make_image(400, 600, "PNG"), "image/png"),
        "video_url": media_host.put("ref.mp4", make_video(3.0, 320, 240, 5), "video/mp4"),
        "mode": "wan-std",
    }
    gate = media_host.hold("ref.mp4")

    def post(_n: int = 0):
        return client_for(user).post(
            "/api/videos/animate-move", body, format="json", HTTP_IDEMPOTENCY_KEY="one-job"
        )

    first: list = []
    thread = threading.Thread(target=lambda: first.append(post()))
    thread.start()
    assert media_host.asked["/ref.mp4"].wait(timeout=30)
    # When the same request is repeated three times at once while the first downloads
    try:
        repeats = run_together(3, post)
    finally:
        gate.set()
        thread.join(timeout=30)
    # Then each repeat was told the key is in use, with Retry-After, and fetched nothing
    for response in repeats:
        assert response.status_code == 409, response.content
        assert response.json()["errors"][0]["code"] == "idempotency_key_in_use"
        assert response["Retry-After"] == "1"
    assert media_host.hits == ["/ref.mp4", "/me.png"]
    # And the first made the one task; a repeat now returns it and imports nothing
    assert first[0].status_code == 202, first[0].content
    again = post()
    assert again.status_code == 202
    assert again.json()["id"] == first[0].json()["id"]
    assert media_host.hits == ["/ref.mp4", "/me.png"]
    assert AnimationTask.objects.filter(user=user).count() == 1
    assert sorted(File.objects.filter(owner=user).values_list("kind", flat=True)) == [
        "image",
        "video",
    ]
    assert not CreateClaim.objects.exists()
    assert account(user) == (1000, 12)
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_a_key_whose_request_failed_can_be_used_again(provider, media_host, settings) -> None:
    # Given a create whose video URL is missing (the import fails, nothing is made)
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    user = funded_user(1000)
    image_url = media_host.put("me.png", make_image(400, 600, "PNG"), "image/png")
    body = {"image_url": image_url, "video_url": f"{image_url[:-6]}gone.mp4", "mode": "wan-std"}
    client = client_for(user)
    failed = client.post("/api/videos/animate-move", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert failed.status_code == 400
    # When the client fixes the URL and sends the same key again
    body["video_url"] = media_host.put("ref.mp4", make_video(3.0, 320, 240, 5), "video/mp4")
    fixed = client.post("/api/videos/animate-move", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    # Then it is served: the failed request left no claim behind
    assert fixed.status_code == 202, fixed.content
    assert AnimationTask.objects.get().idempotency_key == "k"
    assert not CreateClaim.objects.exists()
