"""Request id, JSON error pages, and static files.

Request id: the ``X-Request-ID`` a trusted proxy set, else a new one.

An incoming id is believed only from a peer in ``TRUSTED_PROXIES`` (the load
balancer that stamps each request, the setting that also decides whose
``X-Forwarded-For`` counts); from anyone else, a client could name another
request's id and confuse its logs, so it gets a fresh one. The id is bound into
structlog's context for every log line of the request and returned in the
response's ``X-Request-ID`` header, so a user's report can be matched with the
logs.
The client address is bound too, by the platform's one rule
(``config.client_address``), not django-structlog's own header reading.

Static files: WhiteNoise, also serving the web console's build (config/console.py).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import structlog
from django.http import HttpRequest, HttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware

from config.client_address import client_ip, from_trusted_proxy

_VALID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        trusted = _VALID.match(incoming) and from_trusted_proxy(request)
        request_id = incoming if trusted else uuid.uuid4().hex
        # django-structlog reads the header; give it the value we settled on.
        request.META["HTTP_X_REQUEST_ID"] = request_id
        request.__dict__.pop("headers", None)  # a cached_property built from the old META
        # Our own attribute (HttpRequest has none): the error pages and logs read it.
        request.request_id = request_id  # type: ignore[attr-defined]
        structlog.contextvars.bind_contextvars(request_id=request_id, ip=client_ip(request))
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.unbind_contextvars("request_id", "ip")
        response["X-Request-ID"] = request_id
        return response


class JsonErrorPagesMiddleware:
    """Django's own error pages in the contract's shape, whatever ``DEBUG`` says.

    Outside DRF, production already answers 400/404/500 with ``config.errors``'
    JSON handlers; with ``DEBUG`` on, Django renders its technical pages instead
    (the 404 lists every URL pattern, the 500 the settings and the traceback).
    Any HTML or plain-text 400, 404 or 500 is replaced here by the JSON the
    handlers give, so a client sees one shape in every mode and DEBUG leaks
    nothing to it (the traceback is still logged). A view that means to answer
    such a status with a page of its own (a single-page app's) sets
    ``response.error_page = True`` on it.

    It sits inside CorsMiddleware and SecurityMiddleware, so the replacement gets
    their headers, and outside everything that may fail (sessions, CommonMiddleware's
    host check), so their errors are converted too.
    """

    _HANDLERS = {400: "json_400", 404: "json_404", 500: "json_500"}

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        handler = self._HANDLERS.get(response.status_code)
        content_type = response.get("Content-Type", "")
        if (
            handler is None
            or getattr(response, "error_page", False)
            or not content_type.startswith(("text/html", "text/plain"))
        ):
            return response
        from config import errors

        replacement: HttpResponse = getattr(errors, handler)(request)
        return replacement


# Vite names the console's built assets /assets/<name>-<hash>.<ext>.
_CONSOLE_ASSET = re.compile(r"^/assets/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$")


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, also caching the console's hashed assets for a year (immutable),
    as it does Django's hashed static files."""

    def immutable_file_test(self, path: str, url: str) -> bool:
        return bool(_CONSOLE_ASSET.match(url)) or super().immutable_file_test(path, url)
