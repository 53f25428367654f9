"""The three places a file can live, each a Django ``Storage``, looked up by name.

``local`` is FileSystemStorage under MEDIA_ROOT (the embedded default) and is
served by our own signed-URL view. ``s3`` is django-storages' S3Storage (boto3).
``oss`` is a small Storage over ``oss2``: django-storages has no OSS backend and
django-oss-storage has been unmaintained since 2019. Which one a user's new
files go to depends on their region (``STORAGE_BACKEND_CN`` / ``_GLOBAL``).
"""

from __future__ import annotations

import tempfile
from functools import lru_cache
from typing import Any, Protocol

import oss2
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files import File as DjangoFile
from django.core.files.storage import FileSystemStorage, Storage
from django.utils.deconstruct import deconstructible
from storages.backends.s3 import S3Storage

from storage.models import Backend

_READ_SPOOL_BYTES = 8 * 1024 * 1024


class SigningStorage(Protocol):
    """The remote backends (S3Storage, OSSStorage): URLs signed for ``expire`` seconds."""

    def url(self, name: str, expire: int | None = None) -> str: ...


@deconstructible
class OSSStorage(Storage):
    """Aliyun OSS through oss2. Keys are never reused (a UUID each), so saving
    overwrites instead of probing for a free name. URLs are V1 signed GETs."""

    def __init__(
        self,
        *,
        bucket_name: str,
        endpoint: str,
        access_key_id: str,
        access_key_secret: str,
        connect_timeout: float = 10,
    ) -> None:
        if not bucket_name:
            raise ImproperlyConfigured("STORAGE_OSS_BUCKET is required for the oss backend.")
        self.bucket = oss2.Bucket(
            oss2.Auth(access_key_id, access_key_secret),
            endpoint,
            bucket_name,
            connect_timeout=connect_timeout,
        )

    def _save(self, name: str, content: DjangoFile) -> str:
        headers = {}
        content_type = getattr(content, "content_type", None)
        if content_type:
            headers["Content-Type"] = content_type
        if hasattr(content, "seek"):
            content.seek(0)
        self.bucket.put_object(
            name, content.file if hasattr(content, "file") else content, headers=headers
        )
        return name

    def _open(self, name: str, mode: str = "rb") -> DjangoFile:
        try:
            stream = self.bucket.get_object(name)
        except oss2.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(name) from exc
        spool = tempfile.SpooledTemporaryFile(max_size=_READ_SPOOL_BYTES)  # noqa: SIM115
        for chunk in iter(lambda: stream.read(64 * 1024), b""):
            spool.write(chunk)
        spool.seek(0)
        return DjangoFile(spool, name=name)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return name

    def exists(self, name: str) -> bool:
        return self.bucket.object_exists(name)

    def delete(self, name: str) -> None:
        self.bucket.delete_object(name)

    def size(self, name: str) -> int:
        return self.bucket.head_object(name).content_length

    def url(self, name: str | None, expire: int | None = None) -> str:
        if name is None:
            raise ValueError("An OSS URL needs an object name.")
        return self.bucket.sign_url(
            "GET", name, expire or settings.STORAGE_SIGNED_URL_SECONDS, slash_safe=True
        )


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
    return OSSStorage(**dict(options))
