from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from animations import services
from animations.models import FINAL, AnimationTask, Mode, Status, TaskType
from config.rendering import datetime_json
from storage import services as storage
from storage.api.serializers import FileSerializer, file_json

# What the list loads: the shown columns of a task and of its files.
TASK_COLUMNS = (
    *services.SHOWN_TASK_FIELDS,
    *services.FILES,
    *(f"{f}__{column}" for f in services.FILES for column in storage.SHOWN_FILE_FIELDS),
)


def public_status(task: AnimationTask) -> str:
    """Clients know no ``submitting``: a create call under way is still ``queued``."""
    return Status.QUEUED if task.status == Status.SUBMITTING else task.status


def result_json(task: AnimationTask) -> dict[str, Any] | None:
    """The result with a signed URL, while the task succeeded and the file lives."""
    if task.status != Status.SUCCEEDED or task.result is None or task.result.deleted_at:
        return None
    seconds = settings.STORAGE_SIGNED_URL_SECONDS
    return {
        "url": storage.signed_url(task.result, expires_in=seconds),
        "duration": task.result.duration,
        "width": task.result.width,
        "height": task.result.height,
        "expires_at": (timezone.now() + timedelta(seconds=seconds)).isoformat(),
    }


def finished_moment(task: AnimationTask) -> Any:
    """The provider's own end time when it reported one, else when we settled it
    (a cancel, an error before the provider ran it); None until final."""
    if task.status not in FINAL:
        return None
    return task.provider_end_time or task.finished_at


def task_json(task: AnimationTask) -> dict[str, Any]:
    """The contract's task, built directly: the one rendering of a task (detail,
    list, create, cancel, retry, and what a live update, ``animations.events``,
    carries, so they never differ); ``task`` comes with its files. DRF's per-field machinery cost
    more than the rest of a task detail request; tests hold this equal to
    ``TaskSerializer``'s declared fields rendered by DRF."""
    return {
        "id": str(task.id),
        "type": task.type,
        "model": task.model,
        "mode": task.mode,
        "status": public_status(task),
        "image": None if task.image is None else file_json(task.image),
        "video": None if task.video is None else file_json(task.video),
        "result": result_json(task),
        "credits": {
            "reserved": task.credits_reserved,
            "charged": task.credits_charged,
            # The contract's "refunded": reserved credits given back unspent.
            "refunded": task.credits_released,
        },
        "error": {"code": task.error_code, "message": task.error_message}
        if task.error_code
        else None,
        "attempts": task.attempts,
        "created_at": datetime_json(task.created_at),
        "started_at": datetime_json(task.started_at),
        "finished_at": datetime_json(finished_moment(task)),
        "estimated_finish_at": datetime_json(services.estimated_finish(task)),
    }


class AnimateRequestSerializer(serializers.Serializer):
    """One image and one video, each by id (an upload of yours) or by URL (imported first)."""

    image_id = serializers.UUIDField(required=False)
    image_url = serializers.URLField(required=False, max_length=2000)
    video_id = serializers.UUIDField(required=False)
    video_url = serializers.URLField(required=False, max_length=2000)
    mode = serializers.ChoiceField(choices=Mode.choices)
    watermark = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for what in ("image", "video"):
            given = [k for k in (f"{what}_id", f"{what}_url") if attrs.get(k)]
            if len(given) != 1:
                raise serializers.ValidationError(
                    {f"{what}_id": f"Give exactly one of {what}_id or {what}_url."}
                )
        return attrs


class QuoteRequestSerializer(serializers.Serializer):
    video_id = serializers.UUIDField(help_text="One of your uploaded videos.")
    mode = serializers.ChoiceField(choices=Mode.choices)
    type = serializers.ChoiceField(choices=TaskType.choices)


class QuoteSerializer(serializers.Serializer):
    credits = serializers.IntegerField(help_text="What the job would reserve now.")
    available = serializers.IntegerField(help_text="Your credits available now.")


class TaskResultSerializer(serializers.Serializer):
    url = serializers.URLField()
    duration = serializers.FloatField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    expires_at = serializers.DateTimeField()


class TaskCreditsSerializer(serializers.Serializer):
    reserved = serializers.IntegerField()
    charged = serializers.IntegerField()
    refunded = serializers.IntegerField()


class TaskErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class TaskSerializer(serializers.ModelSerializer):
    """The contract's task. ``started_at``/``finished_at`` are the provider's own times
    (``scheduled_time``/``end_time``); ``estimated_finish_at`` comes from recent
    history for this mode and video length (null until the provider has the task).

    The fields declare the shape (the schema, and the tests' reference rendering);
    ``task_json`` renders it."""

    status = serializers.SerializerMethodField()
    image = FileSerializer(read_only=True, allow_null=True)
    video = FileSerializer(read_only=True, allow_null=True)
    result = serializers.SerializerMethodField()
    credits = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    estimated_finish_at = serializers.SerializerMethodField()
    finished_at = serializers.SerializerMethodField()

    class Meta:
        model = AnimationTask
        fields = [
            "id",
            "type",
            "model",
            "mode",
            "status",
            "image",
            "video",
            "result",
            "credits",
            "error",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
            "estimated_finish_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: AnimationTask) -> dict[str, Any]:
        return task_json(instance)

    @extend_schema_field(
        serializers.ChoiceField(choices=[s for s in Status.values if s != "submitting"])
    )
    def get_status(self, obj: AnimationTask) -> str:
        return public_status(obj)

    @extend_schema_field(TaskResultSerializer(allow_null=True))
    def get_result(self, obj: AnimationTask) -> dict[str, Any] | None:
        return result_json(obj)

    @extend_schema_field(TaskCreditsSerializer)
    def get_credits(self, obj: AnimationTask) -> dict[str, int]:
        return {
            "reserved": obj.credits_reserved,
            "charged": obj.credits_charged,
            "refunded": obj.credits_released,
        }

    @extend_schema_field(TaskErrorSerializer(allow_null=True))
    def get_error(self, obj: AnimationTask) -> dict[str, str] | None:
        if not obj.error_code:
            return None
        return {"code": obj.error_code, "message": obj.error_message}

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_finished_at(self, obj: AnimationTask) -> str | None:
        return datetime_json(finished_moment(obj))

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_estimated_finish_at(self, obj: AnimationTask) -> str | None:
        return datetime_json(services.estimated_finish(obj))


class TaskListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[s for s in Status.values if s != "submitting"], required=False
    )
    type = serializers.ChoiceField(choices=TaskType.choices, required=False)
