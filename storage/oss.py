"""Aliyun OSS as a Django ``Storage``, over ``oss2``.

django-storages has no OSS backend and django-oss-storage has been unmaintained
since 2019, so this is a small one of our own. ``storage.backends`` imports this
module only when an ``oss`` storage is first built: oss2 and the Aliyun SDK it
pulls in cost a process some 10 MB that one serving no OSS files never needs.
"""

from __future__ import annotations

import tempfile

import oss2
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files import File as DjangoFile
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible

_READ_SPOOL_BYTES = 8 * 1024 * 1024


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
