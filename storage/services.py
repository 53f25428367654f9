"""Storage's business rules: what may be stored, where, and how it is handed out.

Slow I/O (probing, downloads, writes to S3/OSS) happens outside database
transactions; the file row is written in a short transaction afterwards, and
the object is removed again if that write fails, so nothing is left half-stored.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import structlog
from django.conf import settings
from django.core.files import File as DjangoFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, router, transaction
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from config import outage
from storage import hooks, media, signing
from storage.backends import SigningStorage, backend_for, failures, get_storage
from storage.errors import StorageUnavailable
from storage.models import Backend, File, FileKind

if TYPE_CHECKING:
    from storage import fetch

logger = structlog.get_logger(__name__)

# A caller's last check of an import's probed content, before it is written.
Accept = Callable[[media.MediaInfo], None]
_INPUT_KINDS = (FileKind.IMAGE, FileKind.VIDEO)


def input_limits() -> dict[str, dict[str, Any]]:
    """The limits uploads and URL imports are checked against (DashScope's input
    limits), for clients to check a file before sending it."""
    image_types = sorted({content_type for content_type, _ext in media.IMAGE_FORMATS.values()})
    return {
        "image": {
            "content_types": image_types,
            "max_bytes": settings.STORAGE_MAX_IMAGE_BYTES,
            "min_side": media.IMAGE_MIN_SIDE,
            "max_side": media.IMAGE_MAX_SIDE,
            "max_aspect_ratio": media.MAX_ASPECT,
        },
        "video": {
            "content_types": list(media.VIDEO_CONTENT_TYPES),
            "max_bytes": settings.STORAGE_MAX_VIDEO_BYTES,
            "min_side": media.VIDEO_MIN_SIDE,
            "max_side": media.VIDEO_MAX_SIDE,
            "min_seconds": media.VIDEO_MIN_SECONDS,
            "max_seconds": media.VIDEO_MAX_SECONDS,
            "max_aspect_ratio": media.MAX_ASPECT,
        },
    }


def store_upload(owner: User, upload: UploadedFile, *, kind: str) -> File:
    """Store an uploaded image or video after checking its content against the
    DashScope input limits; a file that fails a check is not stored at all."""
    with _local_copy(upload) as path:
        return _store_input(owner, path, kind=kind)


def import_from_url(
    owner: User,
    url: str,
    *,
    kind: str,
    resolve: fetch.Resolver | None = None,
    accept: Accept | None = None,
) -> File:
    """Download ``url`` through the guarded downloader (public addresses only,
    bounded size, time and redirects) and store it exactly as an upload would be.

    ``accept(info)``, when given, runs once the content has passed every check
    and before anything is written (the caller's last word, e.g. whether the
    user can pay for a video this long): if it raises, nothing is stored and
    the downloaded copy, a temporary file, is removed."""
    from storage import fetch  # httpx: loaded by the processes that download

    with fetch.download(url, max_bytes=_max_bytes(kind), resolve=resolve) as got:
        return _store_input(owner, got.path, kind=kind, accept=accept)


def mirror_result(
    owner: User, url: str, *, key: str, resolve: fetch.Resolver | None = None
) -> File:
    """Copy a provider's result video into the owner's storage, once per ``key``:
    a second call with the same key returns the first copy and downloads nothing.
    One download per call: a transient failure (5xx, timeout, refused connection)
    raises ``TransientDownloadError`` at once and the caller retries by
    rescheduling (the dispatcher's ``next_poll_at``), never by sleeping in a
    worker. The copy must be a video PyAV can decode. A result that arrives after
    its owner was erased is stored deleted and its object removed at once."""
    from storage import fetch

    existing = _primary().filter(owner=owner, source_key=key).first()
    if existing is not None:
        return existing
    with fetch.download(url, max_bytes=settings.STORAGE_MAX_RESULT_BYTES, resolve=resolve) as got:
        info = media.probe(got.path)
        media.check_playable(info, got.path)
        return _put(
            owner,
            got.path,
            info=info,
            kind=FileKind.RESULT,
            size=got.size,
            sha256=got.sha256,
            source_key=key,
        )


# The columns the API shows of a file (``storage.api.serializers.file_json``,
# ``backend`` and ``key`` for the signed URL): what the hot reads load.
SHOWN_FILE_FIELDS = (
    "id",
    "kind",
    "backend",
    "key",
    "content_type",
    "size",
    "width",
    "height",
    "duration",
    "created_at",
    "deleted_at",
)


def signed_url(file: File, *, expires_in: int | None = None) -> str:
    """A time-limited URL to read ``file``; buckets are never public."""
    seconds = settings.STORAGE_SIGNED_URL_SECONDS if expires_in is None else expires_in
    if file.backend == Backend.LOCAL:
        return signing.local_url(str(file.id), _extension(file), expires_in=seconds)
    # Not local, so S3 or OSS: Django's Storage.url() has no lifetime, theirs do.
    return cast(SigningStorage, get_storage(file.backend)).url(file.key, expire=seconds)


def provider_url(file: File) -> str:
    """A URL DashScope can fetch: a signed bucket URL, or in the embedded default our
    own server's signed URL under SITE_URL. It lives long enough for a queued job."""
    return signed_url(file, expires_in=settings.STORAGE_PROVIDER_URL_SECONDS)


def soft_delete_user_files(user: User) -> list[str]:
    """Erasure: mark every live file of ``user`` deleted and remove their objects
    after commit. Running it again changes nothing. Returns the ids marked."""
    return delete_files(File.objects.filter(owner=user))


def delete_files(files: QuerySet[File]) -> list[str]:
    """Soft-delete the live files among ``files`` (rows locked in pk order) and
    remove their objects once the transaction commits. Returns the ids marked."""
    with transaction.atomic():
        ids = [
            str(pk)
            for pk in files.select_for_update()
            .filter(deleted_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        ]
        File.objects.filter(pk__in=ids).update(deleted_at=timezone.now())
        if ids:
            from storage.tasks import purge_file_objects

            # Best effort: with the broker down the hourly sweep (retry_unpurged) removes them.
            transaction.on_commit(
                lambda: outage.enqueue(purge_file_objects, ids, use="purge_files")
            )
    return ids


def purge_objects(file_ids: list[str]) -> int:
    """Delete the stored objects of soft-deleted, not yet purged files and record
    when. Safe to repeat: purged files are skipped. Returns how many were purged."""
    purged = 0
    for file in File.objects.filter(
        pk__in=file_ids, deleted_at__isnull=False, purged_at__isnull=True
    ):
        try:
            get_storage(file.backend).delete(file.key)
        except failures(file.backend) as exc:
            logger.warning("purge_failed", file_id=str(file.pk), error=str(exc))
            continue
        purged += File.objects.filter(pk=file.pk, purged_at__isnull=True).update(
            purged_at=timezone.now()
        )
    return purged


@dataclass(frozen=True)
class PurgePlan:
    deleted: list[str]
    orphaned: list[str]
    orphans_checked: bool

    @property
    def file_ids(self) -> list[str]:
        return self.deleted + self.orphaned


def plan_purge(*, older_than: timedelta) -> PurgePlan:
    """What ``purge`` would remove: files soft-deleted before the cutoff whose
    objects are still stored, and live files created before the cutoff that no
    registered reference check (``storage.hooks.file_references``) claims. With no
    check registered, nothing counts as orphaned: storage cannot know."""
    cutoff = timezone.now() - older_than
    deleted = _unpurged_ids(deleted_before=cutoff)
    checks = hooks.reference_checks()
    orphaned: list[str] = []
    if checks:
        in_use = hooks.referenced_file_ids()
        orphaned = [
            str(pk)
            for pk in File.objects.filter(created_at__lt=cutoff, deleted_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
            if str(pk) not in in_use
        ]
    return PurgePlan(deleted=deleted, orphaned=orphaned, orphans_checked=bool(checks))


def purge(plan: PurgePlan) -> int:
    """Soft-delete the plan's orphans (only those still live), then remove the
    objects of every planned file. Safe to run twice and from cron."""
    if plan.orphaned:
        with transaction.atomic():
            File.objects.filter(pk__in=plan.orphaned, deleted_at__isnull=True).update(
                deleted_at=timezone.now()
            )
    return purge_objects(plan.file_ids)


def usage_by_backend() -> list[dict[str, Any]]:
    """Live files and bytes per backend (the ``storage_usage`` report and the metric)."""
    return list(
        File.objects.filter(deleted_at__isnull=True)
        .values("backend")
        .annotate(files=Count("id"), bytes=Sum("size"))
        .order_by("backend")
    )


def usage_by_user(*, limit: int = 20) -> list[dict[str, Any]]:
    """The users storing the most bytes in live files, largest first."""
    return list(
        File.objects.filter(deleted_at__isnull=True)
        .values("owner_id", "owner__email", "backend")
        .annotate(files=Count("id"), bytes=Sum("size"))
        .order_by("-bytes", "owner_id")[:limit]
    )


def retry_unpurged(*, older_than: timedelta) -> int:
    """Finish purges that failed (a backend was down): files deleted before the
    cutoff whose objects are still stored."""
    return purge_objects(_unpurged_ids(deleted_before=timezone.now() - older_than, limit=1000))


def _unpurged_ids(*, deleted_before: datetime, limit: int | None = None) -> list[str]:
    """Files deleted before the cutoff whose objects are still stored, in pk order."""
    ids = (
        File.objects.filter(deleted_at__lt=deleted_before, purged_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return [str(pk) for pk in (ids[:limit] if limit is not None else ids)]


def _primary() -> QuerySet[File]:
    # Idempotency decisions must not read a lagging replica.
    return File.objects.using(router.db_for_write(File))


def _max_bytes(kind: str) -> int:
    if kind == FileKind.IMAGE:
        return settings.STORAGE_MAX_IMAGE_BYTES
    return settings.STORAGE_MAX_VIDEO_BYTES


def _store_input(owner: User, path: str, *, kind: str, accept: Accept | None = None) -> File:
    if kind not in _INPUT_KINDS:
        raise ValueError(f"kind must be image or video, not {kind!r}")
    size = os.path.getsize(path)
    info = media.probe(path)
    media.check_input(info, path, kind=kind, size=size)
    if accept is not None:
        accept(info)
    return _put(owner, path, info=info, kind=kind, size=size, sha256=_sha256(path))


def _put(
    owner: User,
    path: str,
    *,
    info: media.MediaInfo,
    kind: str,
    size: int,
    sha256: str,
    source_key: str | None = None,
) -> File:
    backend = backend_for(owner)
    file_id = uuid.uuid4()
    key = f"{kind}/{owner.pk}/{file_id}.{info.extension}"
    store = get_storage(backend)
    try:
        with open(path, "rb") as fh:
            content = DjangoFile(fh, name=key)
            # The S3 and OSS backends send a file's content_type when it has one.
            content.content_type = info.content_type  # type: ignore[attr-defined]
            key = store.save(key, content)
    except failures(backend) as exc:
        logger.error("storage_write_failed", backend=backend, error=str(exc))
        raise StorageUnavailable() from exc
    try:
        with transaction.atomic():
            # Erasure deletes the owner's files under this same row lock, so a file
            # finishing after it (a job's result) is born deleted, never left behind.
            erased = _lock_owner(owner).erased_at is not None
            file = File.objects.create(
                id=file_id,
                owner=owner,
                kind=kind,
                backend=backend,
                key=key,
                content_type=info.content_type,
                size=size,
                sha256=sha256,
                width=info.width,
                height=info.height,
                duration=info.duration,
                fps=info.fps,
                has_audio=info.has_audio,
                source_key=source_key,
                deleted_at=timezone.now() if erased else None,
            )
    except IntegrityError:
        _delete_quietly(store, backend, key)
        if source_key is not None:
            # A concurrent mirror of the same result won the race: keep its copy.
            return _primary().get(owner=owner, source_key=source_key)
        raise
    except BaseException:
        _delete_quietly(store, backend, key)
        raise
    if erased:
        purge_objects([str(file.id)])
    return file


def _lock_owner(owner: User) -> User:
    return User.objects.select_for_update().only("pk", "erased_at").get(pk=owner.pk)


def _delete_quietly(store: Any, backend: str, key: str) -> None:
    try:
        store.delete(key)
    except failures(backend) as exc:
        logger.warning("storage_cleanup_failed", key=key, error=str(exc))


def _extension(file: File) -> str:
    return Path(file.key).suffix.lstrip(".") or "bin"


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def _local_copy(upload: UploadedFile) -> Iterator[str]:
    """A path to the upload's bytes: the temporary file Django streamed it to, or a
    copy for an in-memory upload (small files, other callers)."""
    if hasattr(upload, "temporary_file_path"):
        yield upload.temporary_file_path()
        return
    fd, path = tempfile.mkstemp(prefix="upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            upload.seek(0)
            shutil.copyfileobj(upload, out, 1024 * 1024)
        yield path
    finally:
        os.unlink(path)
