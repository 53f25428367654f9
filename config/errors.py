"""Domain errors and the one place that maps every error to the contract's shape.

Services raise ``DomainError`` subclasses (``InsufficientCredits``,
``TaskNotCancelable``, ``UnsupportedMedia``...) with a stable ``code`` and an
HTTP status; they know nothing of DRF. ``ExceptionHandler`` (wired through
drf-standardized-errors) turns them into::

    {"type": "client_error", "errors": [{"code": ..., "detail": ..., "attr": null, **extra}]}

``json_400`` / ``json_403`` / ``json_404`` / ``json_500`` give Django's own
errors, outside DRF, the same shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import structlog
from django import db
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext_lazy as _
from drf_standardized_errors.handler import ExceptionHandler as _BaseHandler
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.status import is_server_error

if TYPE_CHECKING:
    # str or gettext_lazy's lazy string; django-stubs' alias, for the checker only.
    from django_stubs_ext import StrOrPromise

logger = structlog.get_logger(__name__)

SERVER_ERROR_DETAIL = _("A server error occurred.")


class DomainError(Exception):
    """A business rule said no. Subclasses set ``code`` and ``status_code``.

    ``detail`` is what the client reads: our words. ``internal`` is what went
    wrong below us (a provider's message, a connection error), for the logs,
    staff and stored failure reasons, never for a response; ``internal_detail``
    is that, or ``detail`` when there is nothing more to say.
    """

    code: ClassVar[str] = "error"
    status_code: ClassVar[int] = 400
    # Our words, translated lazily (gettext_lazy).
    default_detail: ClassVar[StrOrPromise] = _("The request could not be completed.")

    def __init__(
        self,
        detail: StrOrPromise | None = None,
        *,
        attr: str | None = None,
        internal: str | None = None,
        **extra: Any,
    ):
        self.detail: StrOrPromise = detail or self.default_detail
        self.attr = attr
        self.internal_detail = internal or self.detail
        self.extra = extra
        super().__init__(self.detail)


class Conflict(DomainError):
    code = "conflict"
    status_code = 409
    default_detail = _("The object is not in a state that allows this.")


class DependencyUnavailable(DomainError):
    code = "service_unavailable"
    status_code = 503
    default_detail = _("A service we depend on is unavailable; try again shortly.")


class _DomainAPIException(exceptions.APIException):
    def __init__(self, error: DomainError) -> None:
        self.status_code = error.status_code
        super().__init__(detail=error.detail, code=error.code)
        self.domain_error = error


class DatabaseUnavailable(DependencyUnavailable):
    default_detail = _("The database is unavailable; try again shortly.")


class ExceptionHandler(_BaseHandler):
    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, DomainError):
            return _DomainAPIException(exc)
        if isinstance(exc, db.OperationalError | db.InterfaceError):
            # A lost connection (a primary failing over, a replica that died
            # under a read) is a dependency that is down, not a bug: 503, and
            # the client may simply retry; the router has already skipped a
            # replica that failed.
            return _DomainAPIException(DatabaseUnavailable(retry_after=5))
        return super().convert_known_exceptions(exc)

    def convert_unhandled_exceptions(self, exc: Exception) -> exceptions.APIException:
        # The same words as json_500, and nothing of the exception itself.
        if not isinstance(exc, exceptions.APIException):
            return exceptions.APIException(detail=SERVER_ERROR_DETAIL)
        return exc

    def format_exception(self, exc: exceptions.APIException) -> dict:
        data = super().format_exception(exc)
        error = getattr(exc, "domain_error", None)
        if error is not None:
            data["errors"][0]["attr"] = error.attr
            data["errors"][0].update(error.extra)
        return data

    def report_exception(self, exc: exceptions.APIException, response: Response) -> None:
        # A 503 (or 502, 504) we answered on purpose is a dependency that is down, not
        # a crash: logged here (error level, so error trackers still see it) with its
        # real status and the exception below it, and not sent as Django's
        # got_request_exception, which django-structlog logs as request_failed
        # code=500. 500s keep the signal.
        if not is_server_error(exc.status_code) or exc.status_code == 500:
            super().report_exception(exc, response)
            return
        error = getattr(exc, "domain_error", None)
        logger.error(
            "request_dependency_unavailable",
            status=exc.status_code,
            error_code=error.code if error is not None else exc.get_codes(),
            internal=error.internal_detail if error is not None else str(exc.detail),
            exc_info=self.exc,
        )

    def get_response(self, exc: exceptions.APIException, data: dict) -> Response:
        response = super().get_response(exc, data)
        retry_after = getattr(getattr(exc, "domain_error", None), "extra", {}).get("retry_after")
        if retry_after is not None:
            response["Retry-After"] = str(int(retry_after))
        return response


def error_body(error_type: str, code: str, detail: str, attr: str | None = None) -> dict:
    return {"type": error_type, "errors": [{"code": code, "detail": detail, "attr": attr}]}


def json_400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    # SuspiciousOperation and the like, raised outside DRF (e.g. a bad Host header).
    return JsonResponse(
        error_body("client_error", "bad_request", str(_("Bad request."))), status=400
    )


def json_403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(
        error_body("client_error", "permission_denied", str(_("You do not have permission."))),
        status=403,
    )


def json_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("client_error", "not_found", str(_("Not found."))), status=404)


def json_500(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("server_error", "error", str(SERVER_ERROR_DETAIL)), status=500)
