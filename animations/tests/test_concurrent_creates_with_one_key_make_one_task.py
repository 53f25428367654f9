"""A client that sends the same create twice at once (a retry racing its original)
gets one task, reserved once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from animations.models import AnimationTask
from animations.tests.helpers import account, client_for, funded_user, upload_inputs
from billing.models import LedgerEntry


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_creates_with_one_key_make_one_task_and_one_reservation(
    provider, settings
) -> None:
    # Given a user with uploads, and no provider slot (the task stays queued)
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    user = funded_user(1000)
    image, video = upload_inputs(user)
    body = {"image_id": str(image.id), "video_id": str(video.id), "mode": "wan-std"}
    answers: list[tuple[int, str]] = []
    start = threading.Barrier(3)

    def post() -> None:
        try:
            start.wait()
            response = client_for(user).post(
                "/api/videos/animate-move", body, format="json", HTTP_IDEMPOTENCY_KEY="same"
            )
            answers.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    # When three requests with the same key arrive together
    threads = [threading.Thread(target=post) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then all are answered 202 with the same task, and only one was created and reserved
    assert len(answers) == 3
    assert {status for status, _ in answers} == {202}
    assert len({task_id for _, task_id in answers}) == 1
    assert AnimationTask.objects.filter(user=user).count() == 1
    assert LedgerEntry.objects.filter(ref__startswith="animation_task:").count() == 1
    assert account(user) == (1000, 12)
