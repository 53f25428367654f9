"""Shared steps for the animations tests: funded users, real uploads, driving the dispatcher."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import av
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory
from animations import services, tasks
from animations.models import FINAL, AnimationTask
from animations.simulator import Simulator
from billing import services as billing
from storage import services as storage
from storage.models import File
from storage.tests.media import make_image, make_video


def funded_user(credits: int = 1000, **kwargs: object) -> User:
    user = UserFactory(**kwargs)
    billing.grant_bonus(user, credits, key=f"test-fund:{user.pk}")
    return user


def upload_inputs(user: User, *, seconds: float = 3.0, audio: bool = False) -> tuple[File, File]:
    image = storage.store_upload(
        user, SimpleUploadedFile("me.jpg", make_image(400, 600), "image/jpeg"), kind="image"
    )
    video = storage.store_upload(
        user,
        SimpleUploadedFile("ref.mp4", make_video(seconds, 320, 240, 5, audio=audio), "video/mp4"),
        kind="video",
    )
    return image, video


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def create(user: User, *, kind: str = "move", mode: str = "wan-std", key: str | None = None):
    image, video = upload_inputs(user)
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client_for(user).post(
        f"/api/videos/animate-{kind}",
        {"image_id": str(image.id), "video_id": str(video.id), "mode": mode},
        format="json",
        **headers,
    )


def drive(until: Callable[[], bool], *, via_worker: bool = False, timeout: float = 30.0) -> None:
    """Beat the dispatcher (through the Celery worker, or inline) until ``until()``."""
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError("the dispatcher did not get there in time")
        if via_worker:
            tasks.dispatch.delay()
        else:
            services.dispatch()
        time.sleep(0.03)


@contextmanager
def forbid_sleep() -> Iterator[None]:
    """Within the block a ``time.sleep`` in this thread fails the test: a worker
    never sleeps. Other threads (the simulator's, the fakes') sleep as they like."""
    caller, real = threading.current_thread(), time.sleep

    def tripwire(seconds: float) -> None:
        if threading.current_thread() is caller:
            raise AssertionError(f"a worker path slept {seconds} s")
        real(seconds)

    time.sleep = tripwire
    try:
        yield
    finally:
        time.sleep = real


def beat(until: Callable[[], bool], *, timeout: float = 30.0) -> None:
    """Like ``drive``, with every dispatcher beat run under ``forbid_sleep``."""
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError("the dispatcher did not get there in time")
        with forbid_sleep():
            services.dispatch()
        time.sleep(0.03)


def provider_finished(provider: Simulator, task_id: object) -> str:
    """Wait (without polling from our side) until the simulator has finished the
    task's provider job; returns the provider task id."""
    provider_id = str(AnimationTask.objects.get(pk=task_id).provider_task_id)
    deadline = time.monotonic() + 10
    while provider.tasks[provider_id].status != "SUCCEEDED":
        if time.monotonic() > deadline:
            raise AssertionError("the provider did not finish the job in time")
        time.sleep(0.02)
    return provider_id


def final(task_id: object) -> Callable[[], bool]:
    return lambda: AnimationTask.objects.get(pk=task_id).status in FINAL


def account(user: User) -> tuple[int, int]:
    acc = billing.account_for(user)
    acc.refresh_from_db()
    return acc.balance, acc.reserved


def probe(data: bytes) -> dict[str, object]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        return {
            "codec": stream.codec_context.name,
            "size": (stream.codec_context.width, stream.codec_context.height),
            "fps": stream.average_rate,
            "frames": sum(1 for _ in container.decode(stream)),
            "audio_tracks": len(container.streams.audio),
        }
