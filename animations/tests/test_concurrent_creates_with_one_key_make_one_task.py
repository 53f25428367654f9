"""A client that sends the same create twice at once (a retry racing its original)
gets one task, reserved once."""

from __future__ import annotations

import pytest

from animations.models import AnimationTask
from animations.tests.helpers import account, client_for, funded_user, upload_inputs
from billing.models import LedgerEntry
from config.tests.concurrency import run_together


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_creates_with_one_key_make_one_task_and_one_reservation(
    provider, settings
) -> None:
    # Given a user with uploads, and no provider slot (the task stays queued)
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    user = funded_user(1000)
    image, video = upload_inputs(user)
    body = {"image_id": str(image.id), "video_id": str(video.id), "mode": "wan-std"}

    def post(_n: int) -> tuple[int, str]:
        response = client_for(user).post(
            "/api/videos/animate-move", body, format="json", HTTP_IDEMPOTENCY_KEY="same"
        )
        return response.status_code, response.json()["id"]

    # When three requests with the same key arrive together
    answers = run_together(3, post)
    # Then all are answered 202 with the same task, and only one was created and reserved
    assert len(answers) == 3
    assert {status for status, _ in answers} == {202}
    assert len({task_id for _, task_id in answers}) == 1
    assert AnimationTask.objects.filter(user=user).count() == 1
    assert LedgerEntry.objects.filter(ref__startswith="animation_task:").count() == 1
    assert account(user) == (1000, 12)
