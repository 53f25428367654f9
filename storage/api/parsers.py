"""Multipart parsing that streams file parts to disk and stops at the size limit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import HttpRequest
from rest_framework.parsers import MultiPartParser

from storage.errors import FileTooLarge
from storage.media import looks_like_image

# Room for the multipart boundaries and the small text fields around the file.
_FORM_OVERHEAD = 64 * 1024


def upload_limit() -> int:
    return max(settings.STORAGE_MAX_IMAGE_BYTES, settings.STORAGE_MAX_VIDEO_BYTES)


class LimitedUploadHandler(TemporaryFileUploadHandler):
    """Writes each chunk to a temporary file and gives up past ``max_bytes``, so an
    oversize body is never read to its end, let alone held in memory. A file whose
    first bytes are an image's gets the image limit, which is far smaller."""

    def __init__(self, request: HttpRequest, *, max_bytes: int) -> None:
        super().__init__(request)
        self.limit = max_bytes
        self.max_bytes = max_bytes

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start == 0:
            self.max_bytes = self.limit
            if looks_like_image(raw_data):
                self.max_bytes = min(self.limit, settings.STORAGE_MAX_IMAGE_BYTES)
        if start + len(raw_data) > self.max_bytes:
            self.file.close()
            raise FileTooLarge(
                f"The file is larger than {self.max_bytes} bytes.",
                attr="file",
                max_bytes=self.max_bytes,
            )
        return super().receive_data_chunk(raw_data, start)


class LimitedMultiPartParser(MultiPartParser):
    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        request = (parser_context or {})["request"]
        limit = upload_limit()
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > limit + _FORM_OVERHEAD:
            raise FileTooLarge(
                f"The file is larger than {limit} bytes.", attr="file", max_bytes=limit
            )
        request._request.upload_handlers = [LimitedUploadHandler(request._request, max_bytes=limit)]
        return super().parse(stream, media_type, parser_context)
