"""A create with the caller's own files is the platform's hottest write: the
user, both files in one lookup, the task and its reservation in one
transaction, and its live update read back once committed, in at most 12
queries; its body is the task as detail shows it."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.tokens import issue_tokens
from animations.models import AnimationTask
from animations.services import common
from animations.tests.helpers import funded_user, upload_inputs
from billing.models import LedgerEntry

pytestmark = pytest.mark.django_db


def test_a_create_with_own_files_takes_twelve_queries_at_most(
    django_assert_max_num_queries, django_capture_on_commit_callbacks
) -> None:
    user = funded_user(1000)
    image, video = upload_inputs(user)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user, method='password')['access']}"
    )
    # Another create kicked the dispatcher within this beat interval: this one sends no run
    cache.add(common.KICK_KEY, 1, timeout=60)
    body = {"image_id": str(image.id), "video_id": str(video.id), "mode": "wan-std"}

    # user; files; savepoint, task, savepoint, account (locked), the key's earlier
    # entry, account, entry, 2 releases; on commit the task read for its live update
    with django_assert_max_num_queries(12), django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/videos/animate-move", body, format="json")

    assert response.status_code == 202
    task = AnimationTask.objects.get()
    assert response.json() == client.get(f"/api/tasks/{task.id}").json()
    assert response.json()["status"] == "queued"
    assert LedgerEntry.objects.filter(ref=task.ref, kind="reserve").count() == 1


def test_one_lookup_still_refuses_each_file_by_its_own_field() -> None:
    user = funded_user(1000)
    image, video = upload_inputs(user)
    stranger_image, _ = upload_inputs(funded_user(1000))
    client = APIClient()
    client.force_authenticate(user)

    def refusal(image_id: object, video_id: object) -> tuple[int, str, str]:
        response = client.post(
            "/api/videos/animate-move",
            {"image_id": str(image_id), "video_id": str(video_id), "mode": "wan-std"},
            format="json",
        )
        error = response.json()["errors"][0]
        return response.status_code, error["code"], error["attr"]

    # Another user's image is missing; a video given as the image is the wrong kind
    assert refusal(stranger_image.id, video.id) == (404, "file_not_found", "image_id")
    assert refusal(video.id, video.id)[2] == "image_id"
    # The same image twice: the image passes, the video is the wrong kind
    assert refusal(image.id, image.id)[2] == "video_id"
    assert refusal(image.id, uuid.uuid4()) == (404, "file_not_found", "video_id")
    assert not AnimationTask.objects.exists()
    assert not LedgerEntry.objects.filter(kind="reserve").exists()
