"""Creating a task (the key's claim, inputs, price, reservation) and finding a
user's tasks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from animations import events
from animations.errors import IdempotencyKeyInUse, InputNotFound, InvalidInput, TaskNotFound
from animations.models import MODELS, AnimationTask, CreateClaim, Mode, Status, TaskType
from animations.services.common import kick, price
from billing import services as billing
from storage import media
from storage import services as storage
from storage.models import File, FileKind

logger = structlog.get_logger(__name__)


@dataclass
class Inputs:
    image: File
    video: File
    # The files this request imported from URLs: discarded if no task uses them.
    imported: list[File] = field(default_factory=list)


def _own_file(user: User, file_id: Any, *, kind: str, attr: str) -> File:
    return _own_files(user, [(file_id, kind, attr)])[0]


def _own_files(user: User, wanted: Sequence[tuple[Any, str, str]]) -> list[File]:
    """The user's live files for ``(id, kind, attr)`` in one query, in order; the
    first one missing (or another user's) or of the wrong kind is refused, with
    its ``attr``."""
    pks = []
    for file_id, _kind, attr in wanted:
        try:
            pks.append(uuid.UUID(str(file_id)))
        except ValueError as exc:
            raise InputNotFound(attr=attr) from exc
    found = {f.pk: f for f in File.objects.filter(pk__in=pks, owner=user, deleted_at__isnull=True)}
    files = []
    for pk, (_file_id, kind, attr) in zip(pks, wanted, strict=True):
        file = found.get(pk)
        if file is None:
            raise InputNotFound(attr=attr)
        if file.kind != kind:
            raise InvalidInput(f"This file is not a {kind}.", attr=attr)
        files.append(file)
    return files


def resolve_inputs(
    user: User,
    *,
    type: str,
    mode: str,
    image_id: Any = None,
    image_url: str | None = None,
    video_id: Any = None,
    video_url: str | None = None,
) -> Inputs:
    """The caller's own files, or URLs imported into their storage with the upload
    checks. Runs before any transaction: an import is a download.

    The job's price is checked before any download, so an account that cannot pay
    has nothing fetched on its behalf: with the reference video's length when it
    is the caller's own file, else (the length of a video at a URL is known only
    once it is read) with the shortest video the provider takes; then, once the
    imported video is probed and before it is written, with its real length. A
    refusal at any step leaves nothing stored: a file this request already
    imported is deleted with its object (``discard_imports``).
    """
    if (image_id is None) == (not image_url):
        raise InvalidInput("Give exactly one of image_id or image_url.", attr="image_id")
    if (video_id is None) == (not video_url):
        raise InvalidInput("Give exactly one of video_id or video_url.", attr="video_id")
    model = MODELS[type]
    wanted = [
        (file_id, kind, attr)
        for file_id, kind, attr in (
            (image_id, FileKind.IMAGE, "image_id"),
            (video_id, FileKind.VIDEO, "video_id"),
        )
        if file_id is not None
    ]
    own = dict(zip([attr for _id, _kind, attr in wanted], _own_files(user, wanted), strict=True))
    image, video = own.get("image_id"), own.get("video_id")
    if video is not None and not video.duration:
        raise InvalidInput("The video's duration is unknown.", attr="video_id")
    if image is not None and video is not None:
        return Inputs(image=image, video=video)
    # A video of the caller's own has a duration by now (checked just above).
    seconds = float(video.duration) if video and video.duration else media.VIDEO_MIN_SECONDS
    billing.ensure_available(user, price(model, mode, seconds))

    def affordable(info: media.MediaInfo) -> None:
        assert info.duration is not None  # a video that passed the media checks has one
        billing.ensure_available(user, price(model, mode, info.duration))

    imported: list[File] = []
    try:
        if video is None:
            # First: its length decides the price, and a refusal then stores nothing.
            video = storage.import_from_url(
                user, str(video_url), kind=FileKind.VIDEO, accept=affordable
            )
            imported.append(video)
        if image is None:
            image = storage.import_from_url(user, str(image_url), kind=FileKind.IMAGE)
            imported.append(image)
    except BaseException:
        _discard(imported)
        raise
    return Inputs(image=image, video=video, imported=imported)


def discard_imports(inputs: Inputs) -> None:
    """Delete the files ``inputs`` imported (rows marked deleted, objects removed
    on commit): the request that fetched them made no task of them."""
    _discard(inputs.imported)


def _discard(files: list[File]) -> None:
    if files:
        storage.delete_files(File.objects.filter(pk__in=[f.pk for f in files]))


def modes() -> list[dict[str, Any]]:
    """Every job type and mode on offer, with its credits per second of reference video."""
    return [
        {
            "type": task_type,
            "mode": mode,
            "credits_per_second": settings.ANIMATIONS_CREDITS_PER_SECOND[MODELS[task_type]][mode],
        }
        for task_type in TaskType.values
        for mode in Mode.values
    ]


@dataclass(frozen=True)
class Quote:
    credits: int
    available: int


def quote(user: User, *, video_id: Any, mode: str, type: str) -> Quote:
    """What a ``type`` job in ``mode`` on this video of the user's would reserve now
    (the price ``create_task`` reserves), and the credits the user has available.
    Nothing is reserved."""
    video = _own_file(user, video_id, kind=FileKind.VIDEO, attr="video_id")
    if not video.duration:
        raise InvalidInput("The video's duration is unknown.", attr="video_id")
    return Quote(
        credits=price(MODELS[type], mode, float(video.duration)),
        available=billing.account_for(user).available,
    )


def task_for_key(user: User, idempotency_key: str | None) -> AnimationTask | None:
    """The task an earlier request with this ``Idempotency-Key`` created, if any:
    keys are per user, so another user's key finds nothing."""
    if not idempotency_key:
        return None
    return AnimationTask.objects.filter(user=user, idempotency_key=idempotency_key).first()


def start_task(
    user: User,
    *,
    type: str,
    mode: str,
    watermark: bool = False,
    idempotency_key: str | None = None,
    image_id: Any = None,
    image_url: str | None = None,
    video_id: Any = None,
    video_url: str | None = None,
) -> AnimationTask:
    """A create request from start to end: a repeat of an ``idempotency_key`` that
    made a task gets that task, and nothing is imported or reserved again.

    A request that imports a URL first claims its key (a committed row) before it
    downloads anything, so a repeat sent while it is still being served imports
    nothing either and is told so (``IdempotencyKeyInUse``, 409, retry in a
    second); the claim is dropped however the request ends. One with only its own
    files needs no claim: the task and its reservation are one transaction, and
    the task's unique key makes simultaneous repeats return the one task."""
    existing = task_for_key(user, idempotency_key)
    if existing is not None:
        return existing
    imports = bool(image_url or video_url)
    with _claimed(user, idempotency_key if imports else None) as repeat:
        if repeat is not None:
            return repeat
        inputs = resolve_inputs(
            user,
            type=type,
            mode=mode,
            image_id=image_id,
            image_url=image_url,
            video_id=video_id,
            video_url=video_url,
        )
        task, _created = create_task(
            user,
            type=type,
            mode=mode,
            inputs=inputs,
            watermark=watermark,
            idempotency_key=idempotency_key,
        )
    return task


# Seconds after which a claim's request is taken for dead: longer than a request
# may take (two URL imports of at most STORAGE_IMPORT_TIMEOUT each, and margin).
def claim_stale() -> timedelta:
    return timedelta(seconds=2 * settings.STORAGE_IMPORT_TIMEOUT + 30)


@contextmanager
def _claimed(user: User, key: str | None) -> Iterator[AnimationTask | None]:
    """Hold the key's ``CreateClaim`` for the block; yields the task a finished
    earlier request made instead, if the claim found one."""
    if not key:
        yield None
        return
    token = uuid.uuid4().hex
    now = timezone.now()
    try:
        with transaction.atomic():
            CreateClaim.objects.create(user=user, idempotency_key=key, token=token, claimed_at=now)
    except IntegrityError:
        # Another request holds the key, or has just made its task.
        existing = task_for_key(user, key)
        if existing is not None:
            yield existing
            return
        taken = CreateClaim.objects.filter(
            user=user, idempotency_key=key, claimed_at__lt=now - claim_stale()
        ).update(token=token, claimed_at=now)
        if not taken:
            raise IdempotencyKeyInUse(retry_after=1) from None
        logger.warning("animation_create_claim_taken_over", user_id=user.pk)
    try:
        yield None
    finally:
        CreateClaim.objects.filter(user=user, idempotency_key=key, token=token).delete()


def create_task(
    user: User,
    *,
    type: str,
    mode: str,
    inputs: Inputs,
    watermark: bool = False,
    idempotency_key: str | None = None,
) -> tuple[AnimationTask, bool]:
    """Reserve the estimated cost (reference video seconds x the model's rate) and
    create the queued task in one transaction; submission is enqueued on commit.
    The same ``idempotency_key`` from the same user returns the first task and
    charges nothing more. Files the request imported that end up in no task are
    discarded. Returns ``(task, created)``."""
    existing = task_for_key(user, idempotency_key)
    if existing is not None:
        discard_imports(inputs)
        return existing, False
    model = MODELS[type]
    duration = float(inputs.video.duration or 0)
    cost = price(model, mode, duration)
    try:
        with transaction.atomic():
            task = AnimationTask.objects.create(
                user=user,
                type=type,
                model=model,
                mode=mode,
                watermark=watermark,
                region=user.region,
                image=inputs.image,
                video=inputs.video,
                video_duration=duration,
                idempotency_key=idempotency_key or None,
                credits_reserved=cost,
                queued_at=timezone.now(),
            )
            billing.reserve(user, cost, ref=task.ref, key=f"{task.ref}:reserve")
            events.task_changed(task)
            transaction.on_commit(kick)
    except IntegrityError:
        # A concurrent request with the same key won the unique constraint.
        discard_imports(inputs)
        existing = task_for_key(user, idempotency_key)
        if existing is None:
            raise
        return existing, False
    except BaseException:
        # Credits spent meanwhile (402), a dependency down: no task uses the imports.
        discard_imports(inputs)
        raise
    logger.info("animation_created", task_id=str(task.id), type=type, mode=mode, credits=cost)
    return task, True


def task_for(user: User, task_id: Any) -> AnimationTask:
    """The user's own task; another user's is exactly as missing as a wrong id."""
    try:
        pk = uuid.UUID(str(task_id))
    except ValueError as exc:
        raise TaskNotFound() from exc
    task = (
        AnimationTask.objects.select_related("image", "video", "result")
        .filter(pk=pk, user=user)
        .first()
    )
    if task is None:
        raise TaskNotFound()
    return task


def user_tasks(
    user: User, *, status: str | None = None, type: str | None = None, only: Sequence[str] = ()
) -> QuerySet[AnimationTask]:
    """The user's tasks, newest first. Clients know no ``submitting``: asking for
    ``queued`` includes the tasks whose create call is under way. ``only``: load
    just these columns."""
    tasks = AnimationTask.objects.filter(user=user).select_related("image", "video", "result")
    if only:
        tasks = tasks.only(*only)
    if status == Status.QUEUED:
        tasks = tasks.filter(status__in=[Status.QUEUED, Status.SUBMITTING])
    elif status:
        tasks = tasks.filter(status=status)
    if type:
        tasks = tasks.filter(type=type)
    return tasks.order_by("-created_at", "-id")
