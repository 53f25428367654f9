"""Request id: taken from ``X-Request-ID`` when a trusted proxy set one, else new.

The id is bound into structlog's context for every log line of the request and
returned in the response's ``X-Request-ID`` header, so a user's report can be
matched with the logs. The client address is bound too, by the platform's one
rule (``config.client_address``), not django-structlog's own header reading.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import structlog
from django.http import HttpRequest, HttpResponse

from config.client_address import client_ip

_VALID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        # django-structlog reads the header; give it the validated value.
        request.META["HTTP_X_REQUEST_ID"] = request_id
        request.__dict__.pop("headers", None)  # a cached_property built from the old META
        request.request_id = request_id  # type: ignore[attr-defined]
        structlog.contextvars.bind_contextvars(request_id=request_id, ip=client_ip(request))
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.unbind_contextvars("request_id", "ip")
        response["X-Request-ID"] = request_id
        return response
