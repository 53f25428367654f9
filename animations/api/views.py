from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from animations import services
from animations.api.serializers import (
    AnimateRequestSerializer,
    QuoteRequestSerializer,
    QuoteSerializer,
    TaskListQuerySerializer,
    TaskSerializer,
)
from animations.models import AnimationTask, TaskType
from storage.api.views import UploadThrottle

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="A repeat with the same key returns the first task and charges nothing more.",
)
TASK_RESPONSES = {
    404: OpenApiResponse(description="not_found: no such task, or not yours"),
}


def _idempotency_key(request: Request) -> str | None:
    return (request.headers.get("Idempotency-Key") or "").strip()[:255] or None


class QuoteView(APIView):
    @extend_schema(
        operation_id="videos_quote",
        request=QuoteRequestSerializer,
        responses={200: QuoteSerializer, **TASK_RESPONSES},
        summary="What a job on this video would cost now; nothing is reserved.",
    )
    def post(self, request: Request) -> Response:
        serializer = QuoteRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        quote = services.quote(request.user, **serializer.validated_data)
        return Response(QuoteSerializer(quote).data)


class _AnimateView(APIView):
    task_type: str = ""
    # Each image_url / video_url is an upload: imports share the uploads throttle.
    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, UploadThrottle]

    def uploads_in(self, request: Request) -> int:
        data = request.data if hasattr(request.data, "get") else {}
        return sum(1 for name in ("image_url", "video_url") if data.get(name))

    def post(self, request: Request) -> Response:
        serializer = AnimateRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key = _idempotency_key(request)
        # A repeat is answered before any URL is imported again.
        existing = services.task_for_key(request.user, key)
        if existing is not None:
            return Response(TaskSerializer(existing).data, status=status.HTTP_202_ACCEPTED)
        inputs = services.resolve_inputs(
            request.user,
            type=self.task_type,
            mode=data["mode"],
            image_id=data.get("image_id"),
            image_url=data.get("image_url"),
            video_id=data.get("video_id"),
            video_url=data.get("video_url"),
        )
        task, _created = services.create_task(
            request.user,
            type=self.task_type,
            mode=data["mode"],
            inputs=inputs,
            watermark=data["watermark"],
            idempotency_key=key,
        )
        return Response(TaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)


_CREATE_SCHEMA = {
    "request": AnimateRequestSerializer,
    "parameters": [IDEMPOTENCY_HEADER],
    "responses": {
        202: TaskSerializer,
        400: OpenApiResponse(description="Invalid input, or a URL import failed its media checks"),
        402: OpenApiResponse(
            description="insufficient_credits, with needed and available. With a "
            "video_url it is checked before anything is downloaded (for the shortest "
            "video the provider takes) and again once the video is read, before it is "
            "stored; a refused request stores nothing."
        ),
        404: OpenApiResponse(description="file_not_found: the image or video is not yours"),
        413: OpenApiResponse(description="file_too_large (URL import)"),
        415: OpenApiResponse(description="unsupported_media (URL import)"),
        429: OpenApiResponse(
            description="throttled (with Retry-After): each image_url and video_url counts "
            "as an upload against the uploads rate"
        ),
    },
}


@extend_schema_view(
    post=extend_schema(
        operation_id="videos_animate_move",
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
        description="Replace the person in the video with the one in the image "
        "(wan2.2-animate-mix). Credits for the video's length are reserved now.",
        **_CREATE_SCHEMA,
    )
)
class AnimateMixView(_AnimateView):
    task_type = TaskType.MIX


class VideoTaskView(APIView):
    @extend_schema(operation_id="videos_task", responses={200: TaskSerializer, **TASK_RESPONSES})
    def get(self, request: Request, task_id: str) -> Response:
        return Response(TaskSerializer(services.task_for(request.user, task_id)).data)


class TaskView(APIView):
    @extend_schema(operation_id="tasks_get", responses={200: TaskSerializer, **TASK_RESPONSES})
    def get(self, request: Request, task_id: str) -> Response:
        return Response(TaskSerializer(services.task_for(request.user, task_id)).data)

    @extend_schema(
        operation_id="tasks_cancel",
        description="Cancel a task the provider is not running yet; its credits are released.",
        responses={
            200: TaskSerializer,
            409: OpenApiResponse(description="task_not_cancelable"),
            **TASK_RESPONSES,
        },
    )
    def delete(self, request: Request, task_id: str) -> Response:
        task = services.cancel_task(services.task_for(request.user, task_id))
        return Response(TaskSerializer(task).data)


class TaskRetryView(APIView):
    @extend_schema(
        operation_id="tasks_retry",
        request=None,
        parameters=[IDEMPOTENCY_HEADER],
        description="Queue a failed or canceled task again; its credits are reserved again.",
        responses={
            202: TaskSerializer,
            402: OpenApiResponse(description="insufficient_credits"),
            409: OpenApiResponse(description="task_not_retryable"),
            **TASK_RESPONSES,
        },
    )
    def post(self, request: Request, task_id: str) -> Response:
        task = services.retry_task(
            services.task_for(request.user, task_id), idempotency_key=_idempotency_key(request)
        )
        return Response(TaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)


class UserTasksView(ListAPIView):
    serializer_class = TaskSerializer

    @extend_schema(
        operation_id="tasks_user_list",
        parameters=[TaskListQuerySerializer],
        description="Your tasks, newest first.",
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[AnimationTask]:
        query = TaskListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return services.user_tasks(
            self.request.user,
            status=query.validated_data.get("status"),
            type=query.validated_data.get("type"),
        )
