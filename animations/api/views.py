from __future__ import annotations

from typing import Any, TypedDict

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import JoinedRead, signed_in_user
from animations import errors as animation_errors
from animations import services
from animations.api.serializers import (
    TASK_COLUMNS,
    AnimateRequestSerializer,
    QuoteRequestSerializer,
    QuoteSerializer,
    TaskListQuerySerializer,
    TaskSerializer,
    task_json,
)
from animations.models import AnimationTask, TaskType
from billing.errors import InsufficientCredits
from config.idempotency import idempotency_key, idempotency_parameter
from config.schema import errors
from config.throttling import default_throttle_classes
from storage import errors as storage_errors
from storage.api.views import MEDIA_ERRORS, UploadThrottle

IDEMPOTENCY_HEADER = idempotency_parameter("returns the first task and charges nothing more.")
# No such task and another user's task look the same.
TASK_NOT_FOUND = animation_errors.TaskNotFound
INSUFFICIENT = InsufficientCredits(needed=27, available=5)


class QuoteView(APIView):
    @extend_schema(
        operation_id="videos_quote",
        request=QuoteRequestSerializer,
        responses={
            200: QuoteSerializer,
            **errors(
                animation_errors.InvalidInput("This file is not a video."),
                animation_errors.InputNotFound,
            ),
        },
        summary="What a job on this video would cost now; nothing is reserved.",
    )
    def post(self, request: Request) -> Response:
        serializer = QuoteRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        quote = services.quote(signed_in_user(request), **serializer.validated_data)
        return Response(QuoteSerializer(quote).data)


class _AnimateView(APIView):
    task_type: str = ""
    # Each image_url / video_url is an upload: imports share the uploads throttle.
    throttle_classes = [*default_throttle_classes(), UploadThrottle]

    def uploads_in(self, request: Request) -> int:
        data = request.data if hasattr(request.data, "get") else {}
        return sum(1 for name in ("image_url", "video_url") if data.get(name))

    def post(self, request: Request) -> Response:
        serializer = AnimateRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # A repeat is answered before any URL is imported again (the key is claimed first).
        task = services.start_task(
            signed_in_user(request),
            type=self.task_type,
            mode=data["mode"],
            watermark=data["watermark"],
            idempotency_key=idempotency_key(request),
            image_id=data.get("image_id"),
            image_url=data.get("image_url"),
            video_id=data.get("video_id"),
            video_url=data.get("video_url"),
        )
        return Response(task_json(task), status=status.HTTP_202_ACCEPTED)


class _CreateSchema(TypedDict):
    """What both animate operations document alike (spread into extend_schema)."""

    request: type[AnimateRequestSerializer]
    parameters: list[OpenApiParameter]
    responses: dict[int, Any]


_CREATE_SCHEMA: _CreateSchema = {
    "request": AnimateRequestSerializer,
    "parameters": [IDEMPOTENCY_HEADER],
    "responses": {
        202: TaskSerializer,
        **errors(
            animation_errors.InvalidInput("Give exactly one of image_id or image_url."),
            # a URL is imported with the upload's checks
            storage_errors.UnsafeUrl(reason="private"),
            storage_errors.DownloadFailed,
            *MEDIA_ERRORS,
            INSUFFICIENT,
            animation_errors.InputNotFound,
            animation_errors.IdempotencyKeyInUse(retry_after=1),
            storage_errors.StorageUnavailable,
        ),
    },
}


@extend_schema_view(
    post=extend_schema(
        operation_id="videos_animate_move",
        summary="Start an animate-move job: the image's character performs the video's motion.",
        description="Animate the person in the image with the motion of the video "
        "(wan2.2-animate-move). Credits for the video's length are reserved now.",
        **_CREATE_SCHEMA,
    )
)
class AnimateMoveView(_AnimateView):
    task_type = TaskType.MOVE


@extend_schema_view(
    post=extend_schema(
        operation_id="videos_animate_mix",
        summary="Start an animate-mix job: the video's character is replaced by the image's.",
        description="Replace the person in the video with the one in the image "
        "(wan2.2-animate-mix). Credits for the video's length are reserved now.",
        **_CREATE_SCHEMA,
    )
)
class AnimateMixView(_AnimateView):
    task_type = TaskType.MIX


class _TaskDetail(APIView):
    """A task's GET: authentication reads the task with the user when it can."""

    task_read: JoinedRead | None = None

    def joined_read(self, alias: str, user_id: Any) -> JoinedRead | None:
        if self.request.method != "GET":
            return None
        self.task_read = services.joined_task_read(alias, self.kwargs["task_id"])
        return self.task_read

    def shown(self, request: Request, task_id: str) -> Response:
        user = signed_in_user(request)
        return Response(task_json(services.shown_task(user, task_id, self.task_read)))


class VideoTaskView(_TaskDetail):
    @extend_schema(
        operation_id="videos_task",
        responses={200: TaskSerializer, **errors(TASK_NOT_FOUND)},
        summary="One of your tasks (the same as GET /api/tasks/{task_id}).",
    )
    def get(self, request: Request, task_id: str) -> Response:
        return self.shown(request, task_id)


class TaskView(_TaskDetail):
    @extend_schema(
        operation_id="tasks_get",
        responses={200: TaskSerializer, **errors(TASK_NOT_FOUND)},
        summary="One of your tasks: poll it until it is final.",
    )
    def get(self, request: Request, task_id: str) -> Response:
        return self.shown(request, task_id)

    @extend_schema(
        operation_id="tasks_cancel",
        summary="Cancel a task the provider is not running yet; its credits are released.",
        responses={
            200: TaskSerializer,
            **errors(TASK_NOT_FOUND, animation_errors.TaskNotCancelable(status="running")),
        },
    )
    def delete(self, request: Request, task_id: str) -> Response:
        task = services.cancel_task(services.task_for(signed_in_user(request), task_id))
        return Response(TaskSerializer(task).data)


class TaskRetryView(APIView):
    @extend_schema(
        operation_id="tasks_retry",
        request=None,
        parameters=[IDEMPOTENCY_HEADER],
        summary="Queue a failed or canceled task again; its credits are reserved again.",
        responses={
            202: TaskSerializer,
            **errors(
                INSUFFICIENT, TASK_NOT_FOUND, animation_errors.TaskNotRetryable(status="queued")
            ),
        },
    )
    def post(self, request: Request, task_id: str) -> Response:
        task = services.retry_task(
            services.task_for(signed_in_user(request), task_id),
            idempotency_key=idempotency_key(request),
        )
        return Response(TaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)


class UserTasksView(ListAPIView):
    serializer_class = TaskSerializer

    @extend_schema(
        operation_id="tasks_user_list",
        parameters=[TaskListQuerySerializer],
        summary="Your tasks, newest first, a page at a time.",
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[AnimationTask]:
        query = TaskListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return services.user_tasks(
            signed_in_user(self.request),
            status=query.validated_data.get("status"),
            type=query.validated_data.get("type"),
            only=TASK_COLUMNS,
        )
