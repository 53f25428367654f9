"""Task detail and the task list: the bodies built by ``task_json`` are exactly
what DRF renders from ``TaskSerializer``'s declared fields (the shape the
contract and the schema give), in one query for a task (read with the user by
authentication while every read goes to the primary; two with replicas) and 3
for a page of any size, the signed URLs valid, another user's task still missing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tokens import issue_tokens
from animations import services
from animations.api.serializers import TaskSerializer
from animations.errors import TaskNotFound
from animations.models import AnimationTask
from storage import signing
from storage.api.serializers import FileSerializer
from storage.models import Backend, File

pytestmark = pytest.mark.django_db


class ReferenceFileSerializer(FileSerializer):
    """The declared fields, rendered by DRF itself (the shape before task_json)."""

    to_representation = serializers.ModelSerializer.to_representation


class ReferenceTaskSerializer(TaskSerializer):
    image = ReferenceFileSerializer(read_only=True, allow_null=True)
    video = ReferenceFileSerializer(read_only=True, allow_null=True)
    to_representation = serializers.ModelSerializer.to_representation


def _file(user: User, kind: str, ext: str, content_type: str, **extra: Any) -> File:
    return File.objects.create(
        owner=user,
        kind=kind,
        backend=Backend.LOCAL,
        key=f"tests/{user.pk}/{File.objects.count()}.{ext}",
        content_type=content_type,
        size=123_456,
        sha256="0" * 64,
        width=720,
        height=1280,
        duration=None if kind == "image" else 5.25,
        **extra,
    )


def _task(user: User, status: str, **fields: Any) -> AnimationTask:
    now = timezone.now()
    return AnimationTask.objects.create(
        user=user,
        type="move",
        model="wan2.2-animate-move",
        mode="wan-std",
        region="global",
        image=_file(user, "image", "png", "image/png"),
        video=_file(user, "video", "mp4", "video/mp4"),
        video_duration=5.25,
        status=status,
        credits_reserved=21,
        queued_at=now,
        provider_responses=[{"output": {"task_status": "PENDING"}}],
        **fields,
    )


@pytest.fixture
def tasks_of_every_kind() -> tuple[User, list[AnimationTask]]:
    user = UserFactory()
    now = timezone.now()
    started = now - timedelta(minutes=3)
    tasks = [
        # queued: no result, no error, no times
        _task(user, "queued"),
        # submitting is shown as queued
        _task(user, "submitting"),
        # running: an estimate of its end
        _task(user, "running", submitted_at=started, started_at=started, provider_task_id="p-1"),
        # failed: an error, credits given back
        _task(
            user,
            "failed",
            error_code="InvalidParameter",
            error_message="The input image has no person.",
            credits_released=21,
            finished_at=now,
        ),
        # succeeded: a result with a signed URL
        _task(
            user,
            "succeeded",
            submitted_at=started,
            started_at=started,
            provider_end_time=now - timedelta(seconds=5),
            finished_at=now,
            credits_charged=21,
            result=_file(user, "result", "mp4", "video/mp4"),
        ),
        # succeeded, its result since deleted: no result
        _task(
            user,
            "succeeded",
            finished_at=now,
            credits_charged=21,
            result=_file(user, "result", "mp4", "video/mp4", deleted_at=now),
        ),
    ]
    return user, tasks


def _client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user, method='password')['access']}"
    )
    return client


def _comparable(body: Any) -> Any:
    """The body with what changes from one second to the next taken out: signed
    URLs' expiry and signature (checked valid) and the result's expires_at."""
    if isinstance(body, dict):
        return {k: ("<moment>" if k == "expires_at" else _comparable(v)) for k, v in body.items()}
    if isinstance(body, list):
        return [_comparable(v) for v in body]
    if isinstance(body, str) and "sig=" in body:
        url = urlparse(body)
        query = parse_qs(url.query)
        file_id = re.search(r"/([0-9a-f-]{36})\.", url.path).group(1)  # type: ignore[union-attr]
        assert signing.is_valid(file_id, query["expires"][0], query["sig"][0])
        return url.path
    return body


def _reference(task: AnimationTask) -> Any:
    full = AnimationTask.objects.select_related("image", "video", "result").get(pk=task.pk)
    return _comparable(ReferenceTaskSerializer(full).data)


def test_task_detail_bodies_are_the_declared_shape(tasks_of_every_kind) -> None:
    user, tasks = tasks_of_every_kind
    client = _client(user)
    for task in tasks:
        response = client.get(f"/api/tasks/{task.id}")
        assert response.status_code == 200
        assert _comparable(response.json()) == _reference(task)
    # The kinds the contract names are all there: null result and error, a signed result
    bodies = {t.status: client.get(f"/api/tasks/{t.id}").json() for t in tasks}
    assert bodies["queued"]["result"] is None and bodies["queued"]["error"] is None
    assert bodies["failed"]["error"] == {
        "code": "InvalidParameter",
        "message": "The input image has no person.",
    }
    assert client.get(f"/api/tasks/{tasks[4].id}").json()["result"]["url"].startswith("http")
    assert client.get(f"/api/tasks/{tasks[5].id}").json()["result"] is None
    assert client.get(f"/api/tasks/{tasks[1].id}").json()["status"] == "queued"
    assert bodies["running"]["estimated_finish_at"] is not None


def test_task_list_bodies_are_the_declared_shape(tasks_of_every_kind) -> None:
    user, tasks = tasks_of_every_kind
    body = _client(user).get("/api/tasks/user/tasks?page_size=20").json()
    assert body["count"] == len(tasks)
    assert body["next"] is None and body["previous"] is None
    newest_first = sorted(tasks, key=lambda t: (t.created_at, t.id), reverse=True)
    assert [_comparable(t) for t in body["results"]] == [_reference(t) for t in newest_first]


def test_a_task_detail_takes_one_query(tasks_of_every_kind, django_assert_max_num_queries) -> None:
    user, tasks = tasks_of_every_kind
    client = _client(user)
    client.get(f"/api/tasks/{tasks[2].id}")  # the estimate's history, cached per minute
    for task in tasks:
        # the user with its token generation, and with it the task with its three files
        with django_assert_max_num_queries(1):
            assert client.get(f"/api/tasks/{task.id}").status_code == 200


def test_with_replicas_the_task_is_read_on_its_own_as_before(
    tasks_of_every_kind, django_assert_max_num_queries, settings
) -> None:
    user, tasks = tasks_of_every_kind
    client = _client(user)
    alone = [client.get(f"/api/tasks/{task.id}").json() for task in tasks]
    # A replica that never answers: the task's read falls back to the primary, on its own
    settings.DATABASE_REPLICAS = ["replica-unconfigured"]
    for task, body in zip(tasks, alone, strict=True):
        with django_assert_max_num_queries(2):
            response = client.get(f"/api/tasks/{task.id}")
        assert _comparable(response.json()) == _comparable(body)


def test_the_joined_read_still_hides_another_users_task(tasks_of_every_kind) -> None:
    _user, tasks = tasks_of_every_kind
    stranger = _client(UserFactory())
    for task in tasks:
        response = stranger.get(f"/api/tasks/{task.id}")
        assert (response.status_code, response.json()["errors"][0]["code"]) == (404, "not_found")
    assert stranger.get("/api/tasks/not-a-task").status_code == 404
    assert stranger.get(f"/api/videos/tasks/{tasks[4].id}").status_code == 404


@pytest.mark.parametrize("page_size", [1, 5, 100])
def test_a_page_of_tasks_takes_three_queries_whatever_its_size(
    tasks_of_every_kind, django_assert_max_num_queries, page_size
) -> None:
    user, _tasks = tasks_of_every_kind
    client = _client(user)
    client.get("/api/tasks/user/tasks")
    # the user; the count; the page with its files
    with django_assert_max_num_queries(3):
        response = client.get(f"/api/tasks/user/tasks?page_size={page_size}")
    assert len(response.json()["results"]) == min(page_size, 6)


def test_another_users_task_is_missing_from_the_fast_read(tasks_of_every_kind) -> None:
    _user, tasks = tasks_of_every_kind
    stranger = UserFactory()
    response = _client(stranger).get(f"/api/tasks/{tasks[4].id}")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
    with pytest.raises(TaskNotFound):
        services.shown_task(stranger, tasks[4].id)
    with pytest.raises(TaskNotFound):
        services.shown_task(stranger, "not-a-uuid")


def test_the_fast_read_loads_only_the_shown_columns(tasks_of_every_kind) -> None:
    user, tasks = tasks_of_every_kind
    task = services.shown_task(user, tasks[4].id)
    # What is not shown is deferred, as QuerySet.only leaves it
    assert "provider_responses" in task.get_deferred_fields()
    assert task.result is not None and task.result.pk == tasks[4].result_id
    assert "owner_id" in task.image.get_deferred_fields()
