from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from storage import services
from storage.models import File, FileKind


class FileSerializer(serializers.ModelSerializer):
    """The contract's file: ``url`` is a signed, expiring link."""

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


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The image or video; its content decides its type.")
    kind = serializers.ChoiceField(choices=[FileKind.IMAGE, FileKind.VIDEO])
