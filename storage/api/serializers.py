from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.rendering import datetime_json
from storage import services
from storage.models import File, FileKind


def file_json(file: File) -> dict[str, Any]:
    """The contract's file, built directly: DRF's field machinery costs more per
    response than the work itself (tests hold it equal to ``FileSerializer``'s
    declared fields)."""
    return {
        "id": str(file.id),
        "kind": file.kind,
        "content_type": file.content_type,
        "size": file.size,
        "width": file.width,
        "height": file.height,
        "duration": None if file.duration is None else float(file.duration),
        "url": services.signed_url(file),
        "created_at": datetime_json(file.created_at),
    }


class FileSerializer(serializers.ModelSerializer):
    """The contract's file: ``url`` is a signed, expiring link. The fields declare
    the shape (schema, tests); ``file_json`` renders it."""

    url = serializers.SerializerMethodField()

    class Meta:
        model = File
        fields = [
            "id",
            "kind",
            "content_type",
            "size",
            "width",
            "height",
            "duration",
            "url",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: File) -> str:
        return services.signed_url(obj)

    def to_representation(self, instance: File) -> dict[str, Any]:
        return file_json(instance)


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The image or video; its content decides its type.")
    kind = serializers.ChoiceField(choices=[FileKind.IMAGE, FileKind.VIDEO])
