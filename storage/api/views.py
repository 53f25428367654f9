from __future__ import annotations

import os
import re
from collections.abc import Iterator

from django.http import FileResponse, Http404, HttpResponse, HttpResponseBase, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import signed_in_user
from config.db_router import use_primary
from config.schema import NOT_FOUND, errors
from config.throttling import UserRateThrottle, default_throttle_classes
from storage import errors as storage_errors
from storage import services, signing
from storage.api.parsers import LimitedMultiPartParser
from storage.api.serializers import FileSerializer, UploadSerializer
from storage.backends import get_storage
from storage.models import Backend, File

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 256 * 1024


# What an upload (or a URL import, which runs the same checks) may be refused for.
MEDIA_ERRORS = (
    storage_errors.CorruptMedia,
    storage_errors.MediaTooShort("The video lasts 1.2 s; it must last at least 2 s.", duration=1.2),
    storage_errors.MediaTooLong("The video lasts 42 s; it may last at most 30 s.", duration=42.0),
    storage_errors.ImageTooSmall(width=120, height=160),
    storage_errors.ImageTooLarge(width=5000, height=3000),
    storage_errors.InvalidDimensions(width=4000, height=2160),
    storage_errors.InvalidAspectRatio(width=1000, height=200),
    storage_errors.FileTooLarge(
        "Images may be at most 5242880 bytes.", max_bytes=5242880, size=6000000
    ),
    storage_errors.UnsupportedMedia(detected="text/plain"),
)


class UploadThrottle(UserRateThrottle):
    """Uploads per user (``uploads`` rate): each one is streamed, decoded and stored.

    A URL import is an upload too. A view whose requests may carry several, or
    none, says how many with ``uploads_in(request)`` (the animate endpoints: one
    per ``*_url``); each counts, and a request that would pass the limit is
    refused whole (429), before anything is fetched.
    """

    scope = "uploads"
    # Set by SimpleRateThrottle.__init__ (parse_rate); the DRF stubs leave them out.
    num_requests: int
    duration: int

    def allow_request(self, request: Request, view: APIView) -> bool:
        count = view.uploads_in(request) if hasattr(view, "uploads_in") else 1
        if count <= 0 or self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) + count > self.num_requests:
            return self.throttle_failure()
        self.history[:0] = [self.now] * count
        self.cache.set(self.key, self.history, self.duration)
        return True


class UploadView(APIView):
    parser_classes = [LimitedMultiPartParser]
    throttle_classes = [*default_throttle_classes(), UploadThrottle]

    @extend_schema(
        operation_id="videos_upload",
        request={"multipart/form-data": UploadSerializer},
        responses={
            201: FileSerializer,
            **errors(*MEDIA_ERRORS, storage_errors.StorageUnavailable),
        },
        summary="Upload an image or a video for a job.",
        description="Upload an image or a video. The file's content decides its type and is "
        "checked against the DashScope input limits; a file that fails is not stored.",
    )
    def post(self, request: Request) -> Response:
        serializer = UploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        file = services.store_upload(
            signed_in_user(request),
            serializer.validated_data["file"],
            kind=serializer.validated_data["kind"],
        )
        return Response(FileSerializer(file).data, status=status.HTTP_201_CREATED)


class FileContentView(APIView):
    """Serves a local-backend file to whoever holds an unexpired signed link
    (clients, and DashScope in the embedded mode). The signature is the credential."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="videos_file_content",
        parameters=[
            OpenApiParameter("expires", int, description="Unix time the link expires."),
            OpenApiParameter("sig", str, description="The link's signature."),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (206, "application/octet-stream"): OpenApiTypes.BINARY,
            416: OpenApiResponse(description="The range is outside the file."),
            # unknown file, bad signature and expired link look the same
            **errors(NOT_FOUND),
        },
        summary="A stored file's bytes, through a signed link.",
        description="The bytes of a locally stored file, via a signed, expiring link. "
        "Supports single byte ranges.",
    )
    def get(self, request: Request, file_id: str, ext: str) -> HttpResponseBase:
        if not signing.is_valid(
            str(file_id), request.query_params.get("expires"), request.query_params.get("sig")
        ):
            raise Http404
        # DashScope may fetch a file moments after it was stored: no lagging replica.
        with use_primary():
            file = File.objects.filter(
                pk=file_id, backend=Backend.LOCAL, deleted_at__isnull=True
            ).first()
        if file is None:
            raise Http404
        try:
            path = get_storage(Backend.LOCAL).path(file.key)
            size = os.path.getsize(path)
        except (OSError, NotImplementedError) as exc:
            raise Http404 from exc
        byte_range = _parse_range(request.headers.get("Range", ""), size)
        if byte_range is None:
            response: HttpResponseBase = FileResponse(
                open(path, "rb"),  # noqa: SIM115 (FileResponse closes it)
                content_type=file.content_type,
            )
        elif byte_range == (-1, -1):
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        else:
            start, end = byte_range
            response = StreamingHttpResponse(
                _read_range(path, start, end), status=206, content_type=file.content_type
            )
            response["Content-Length"] = str(end - start + 1)
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Accept-Ranges"] = "bytes"
        response["Cache-Control"] = "private, max-age=300"
        return response


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """None for the whole file, (-1, -1) for an unsatisfiable range."""
    match = _RANGE.match(header.strip())
    if not match or (not match[1] and not match[2]):
        return None
    if not match[1]:
        suffix = int(match[2])
        if suffix == 0:
            return (-1, -1)
        return (max(0, size - suffix), size - 1)
    start = int(match[1])
    end = min(int(match[2]), size - 1) if match[2] else size - 1
    if start >= size or start > end:
        return (-1, -1)
    return (start, end)


def _read_range(path: str, start: int, end: int) -> Iterator[bytes]:
    remaining = end - start + 1
    with open(path, "rb") as fh:
        fh.seek(start)
        while remaining > 0:
            chunk = fh.read(min(_CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
