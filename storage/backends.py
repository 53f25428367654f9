"""The three places a file can live, each a Django ``Storage``, looked up by name.

``local`` is FileSystemStorage under MEDIA_ROOT (the embedded default) and is
served by our own signed-URL view. ``s3`` is django-storages' S3Storage (boto3).
``oss`` is our small Storage over ``oss2`` (``storage.oss``). Which one a user's
new files go to depends on their region (``STORAGE_BACKEND_CN`` / ``_GLOBAL``).

The remote backends' SDKs (boto3, oss2) are imported when their storage is first
built, and their exception types when one is being caught: a web worker that
serves only local files, as the embedded default and the benchmark do, never
loads them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, Storage

from storage.models import Backend

if TYPE_CHECKING:
    from storages.backends.s3 import S3Storage

    from storage.oss import OSSStorage


class SigningStorage(Protocol):
    """The remote backends (S3Storage, OSSStorage): URLs signed for ``expire`` seconds."""

    def url(self, name: str, expire: int | None = None) -> str: ...


def get_storage(name: str) -> Storage:
    """The Storage for backend ``name``, built from the current settings."""
    if name == Backend.LOCAL:
        # Reads MEDIA_ROOT lazily and follows setting changes, so it is never cached here.
        return FileSystemStorage()
    if name == Backend.S3:
        return _s3(_frozen(settings.STORAGE_S3))
    if name == Backend.OSS:
        return _oss(_frozen(settings.STORAGE_OSS))
    raise ImproperlyConfigured(f"Unknown storage backend {name!r}; use local, s3 or oss.")


def failures(name: str) -> tuple[type[Exception], ...]:
    """What backend ``name``'s save, open and delete raise when the store fails.

    Meant for an ``except`` clause, which evaluates it only once something was
    raised, so an SDK's exceptions are imported only when they may be caught."""
    if name == Backend.S3:
        from botocore.exceptions import BotoCoreError, ClientError

        return (OSError, BotoCoreError, ClientError)
    if name == Backend.OSS:
        from oss2.exceptions import OssError

        return (OSError, OssError)
    return (OSError,)


def backend_for(user: Any) -> str:
    """The backend a user's new files go to: by region, as configured."""
    name = (
        settings.STORAGE_BACKEND_CN
        if getattr(user, "region", "global") == "cn"
        else settings.STORAGE_BACKEND_GLOBAL
    )
    if name not in Backend.values:
        raise ImproperlyConfigured(f"Unknown storage backend {name!r}; use local, s3 or oss.")
    return name


def _frozen(options: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(options.items()))


@lru_cache(maxsize=8)
def _s3(options: tuple[tuple[str, Any], ...]) -> S3Storage:
    from storages.backends.s3 import S3Storage

    config = dict(options)
    if not config.get("bucket_name"):
        raise ImproperlyConfigured("STORAGE_S3_BUCKET is required for the s3 backend.")
    return S3Storage(
        **config,
        file_overwrite=True,
        default_acl=None,
        querystring_auth=True,
        querystring_expire=settings.STORAGE_SIGNED_URL_SECONDS,
        signature_version="s3v4",
    )


@lru_cache(maxsize=8)
def _oss(options: tuple[tuple[str, Any], ...]) -> OSSStorage:
    from storage.oss import OSSStorage

    return OSSStorage(**dict(options))
