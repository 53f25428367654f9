"""The file record: where an uploaded, imported or mirrored file lives and what it is."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class FileKind(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    RESULT = "result", "Result"


class Backend(models.TextChoices):
    LOCAL = "local", "Local files"
    S3 = "s3", "AWS S3"
    OSS = "oss", "Aliyun OSS"


class File(models.Model):
    """One stored object. The backend is recorded per file so that changing the
    region's backend later never loses track of older files. Files are soft-deleted
    (``deleted_at``) and their objects removed afterwards (``purged_at``); the row
    stays so that tasks pointing at it keep their history. A mirrored result
    carries ``source_key``, unique per owner, which makes mirroring idempotent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="files"
    )
    kind = models.CharField(max_length=8, choices=FileKind.choices)
    backend = models.CharField(max_length=8, choices=Backend.choices)
    key = models.CharField(max_length=500)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds.")
    fps = models.FloatField(null=True, blank=True)
    has_audio = models.BooleanField(null=True, blank=True)
    # NULL, not "", for files that are not mirrored results: NULLs don't collide
    # in the unique (owner, source_key) index.
    source_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["backend", "key"], name="file_backend_key_unique"),
            # NULLs are distinct in a unique index, so only results are constrained
            # (MariaDB has no partial indexes).
            models.UniqueConstraint(
                fields=["owner", "source_key"], name="file_owner_source_key_unique"
            ),
            models.CheckConstraint(condition=Q(kind__in=FileKind.values), name="file_kind_valid"),
            models.CheckConstraint(
                condition=Q(backend__in=Backend.values), name="file_backend_valid"
            ),
            models.CheckConstraint(
                condition=Q(source_key__isnull=True) | Q(kind=FileKind.RESULT),
                name="file_source_key_only_on_results",
            ),
            models.CheckConstraint(
                condition=Q(purged_at__isnull=True) | Q(deleted_at__isnull=False),
                name="file_purged_only_when_deleted",
            ),
        ]
        indexes = [models.Index(fields=["owner", "kind"], name="file_owner_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.backend}:{self.key})"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None
