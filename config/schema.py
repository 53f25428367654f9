"""The OpenAPI schema: one error shape, the codes each operation answers with, and the
rules every operation shares. Clients are generated from it (openapi-typescript,
openapi-python-client), so it must say exactly what the API does.

- ``ErrorSerializer`` is the contract's error, the one component that every error
  response of every operation references. ``code`` is an open string: each error
  response lists the codes known for it (in its description, and one example per
  code), and a client must tolerate a code it does not know.
- ``errors(*known)`` declares an operation's own errors in ``extend_schema``:
  ``DomainError`` classes or instances (code, status and detail come from them; an
  instance's extra fields become the example's) and ``Code``s.
- ``AutoSchema`` is drf-standardized-errors' (which adds the errors DRF itself raises:
  validation and parse errors, 403, 404, 415, 500) with those errors merged in.
  Public operations say ``security: []``; a DELETE may carry its declared body.
- ``postprocess`` (a drf-spectacular hook) adds 401 to every secured operation and
  429 and 503 with ``Retry-After`` to every operation, each documented once under
  ``components.responses``.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from drf_spectacular.plumbing import force_instance, is_serializer
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from drf_standardized_errors.openapi import AutoSchema as _StandardizedErrorsSchema
from drf_standardized_errors.openapi_utils import (
    InputDataField,
    get_flat_serializer_fields,
    get_serializer_fields_with_error_codes,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from config.errors import DomainError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

TOLERATE = "A client must tolerate a `code` it does not know."


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="A stable machine code to switch on. An open set: each response lists "
        "the codes known for it; tolerate others."
    )
    detail = serializers.CharField(help_text="A human-readable explanation.")
    attr = serializers.CharField(
        allow_null=True, help_text="The request field the error is about, or null."
    )
    needed = serializers.IntegerField(
        required=False, help_text="`insufficient_credits`: credits the request needs."
    )
    available = serializers.IntegerField(
        required=False, help_text="`insufficient_credits`: credits available now."
    )
    max_bytes = serializers.IntegerField(
        required=False, help_text="`file_too_large`: the limit in bytes."
    )
    size = serializers.IntegerField(required=False, help_text="`file_too_large`: the file's size.")
    detected = serializers.CharField(
        required=False, help_text="`unsupported_media`: what the file turned out to be."
    )
    width = serializers.IntegerField(required=False, help_text="Media errors: pixels.")
    height = serializers.IntegerField(required=False, help_text="Media errors: pixels.")
    duration = serializers.FloatField(required=False, help_text="Media errors: seconds.")
    reason = serializers.CharField(
        required=False, help_text="`unsafe_url`: why the URL may not be fetched."
    )
    status = serializers.CharField(
        required=False, help_text="State conflicts: the state the object is in."
    )
    errcode = serializers.IntegerField(
        required=False, help_text="`wechat_error`: WeChat's own error code."
    )
    retry_after = serializers.IntegerField(
        required=False, help_text="Seconds to wait before trying again."
    )


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API (drf-standardized-errors)."""

    type = serializers.ChoiceField(choices=["validation_error", "client_error", "server_error"])
    # A declared field: DRF's metaclass moves it into _declared_fields, so it does
    # not replace Serializer.errors on the class.
    errors = ErrorDetailSerializer(many=True)  # type: ignore[assignment]


@dataclass(frozen=True)
class Code:
    """A code an operation can answer with, and what its example shows."""

    status: int
    code: str
    detail: StrOrPromise
    extra: dict[str, Any] = field(default_factory=dict)
    attr: str | None = None

    @property
    def type(self) -> str:
        return "server_error" if self.status >= 500 else "client_error"

    @classmethod
    def of(cls, error: builtins.type[DomainError] | DomainError) -> Code:
        if isinstance(error, DomainError):
            return cls(error.status_code, error.code, error.detail, dict(error.extra), error.attr)
        return cls(error.status_code, error.code, error.default_detail)

    def example(self) -> dict[str, Any]:
        error = {"code": self.code, "detail": self.detail, "attr": self.attr, **self.extra}
        return {"type": self.type, "errors": [error]}


# The codes DRF, simplejwt and our middleware answer with on any operation.
PARSE_ERROR = Code(400, "parse_error", "JSON parse error - Expecting value.")
NOT_AUTHENTICATED = Code(401, "not_authenticated", "Authentication credentials were not provided.")
AUTHENTICATION_FAILED = Code(401, "authentication_failed", "Incorrect authentication credentials.")
TOKEN_NOT_VALID = Code(401, "token_not_valid", "Given token not valid for any token type")
TOKEN_REVOKED = Code(401, "token_revoked", "This token has been revoked.")
USER_INACTIVE = Code(401, "user_inactive", "This account is disabled.")
USER_NOT_FOUND = Code(401, "user_not_found", "User not found")
PERMISSION_DENIED = Code(403, "permission_denied", "You do not have permission.")
NOT_FOUND = Code(404, "not_found", "Not found.")
UNSUPPORTED_MEDIA_TYPE = Code(
    415, "unsupported_media_type", 'Unsupported media type "text/plain" in request.'
)
THROTTLED = Code(429, "throttled", "Request was throttled. Expected available in 30 seconds.")
SERVER_ERROR = Code(500, "error", "A server error occurred.")
SERVICE_UNAVAILABLE = Code(
    503,
    "service_unavailable",
    "A service we depend on is unavailable; try again shortly.",
    {"retry_after": 5},
)
UNAUTHORIZED_CODES = [
    NOT_AUTHENTICATED,
    TOKEN_NOT_VALID,
    TOKEN_REVOKED,
    USER_INACTIVE,
    USER_NOT_FOUND,
    AUTHENTICATION_FAILED,
]


class ErrorResponse(OpenApiResponse):
    """An error response of known codes; ``AutoSchema`` adds the generic ones."""

    def __init__(self, known: Iterable[Code]) -> None:
        self.known = list(known)
        super().__init__(response=ErrorSerializer)


def errors(*known: type[DomainError] | DomainError | Code) -> dict[int, ErrorResponse]:
    """``extend_schema(responses={200: X, **errors(InsufficientCredits, ...)})``."""
    by_status: dict[int, list[Code]] = {}
    for item in known:
        code = item if isinstance(item, Code) else Code.of(item)
        by_status.setdefault(code.status, []).append(code)
    return {status: ErrorResponse(codes) for status, codes in by_status.items()}


def describe(codes: Iterable[Code], *, fields: Mapping[str, Iterable[str]] | None = None) -> str:
    """The description of an error response: the codes known for it."""
    parts = [f"`{c.code}`" for c in codes]
    if fields:
        by_field = "; ".join(
            f"`{name}`: {', '.join(f'`{c}`' for c in sorted(field_codes))}"
            for name, field_codes in sorted(fields.items())
        )
        lead = "and, " if parts else ""
        parts.append(
            f"{lead}with `type` `validation_error` and `attr` naming the field, {by_field}"
        )
    return f"Known codes: {', '.join(parts)}. {TOLERATE}"


def examples(codes: Iterable[Code], status: int) -> list[OpenApiExample]:
    return [
        OpenApiExample(c.code, value=c.example(), response_only=True, status_codes=[str(status)])
        for c in codes
    ]


def response_component(codes: list[Code], *, retry_after: bool) -> dict[str, Any]:
    """A whole response object for ``components.responses`` (used by the hook)."""
    response: dict[str, Any] = {
        "description": describe(codes),
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "examples": {c.code: {"value": c.example()} for c in codes},
            }
        },
    }
    if retry_after:
        response["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
    return response


class AutoSchema(_StandardizedErrorsSchema):
    def is_public(self) -> bool:
        """Anyone may call it: every permission is AllowAny (a Bearer token may still
        be sent where the operation says what it does with one)."""
        permissions = self.view.get_permissions()
        return bool(permissions) and all(type(p) is AllowAny for p in permissions)

    def get_auth(self) -> list[dict[str, Any]]:
        if self.is_public():
            return []
        # drf-spectacular adds {} (anonymous) next to AllowAny; secured means secured.
        return [requirement for requirement in super().get_auth() if requirement]

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is not None and self.is_public():
            # Said explicitly, so generators do not demand a token (openapi-python-client
            # treats any non-empty list, even [{}], as "authenticated client only").
            operation["security"] = []
        return operation

    def _get_request_body(self, direction: str = "request") -> dict[str, Any] | None:
        # drf-spectacular documents bodies for PUT/PATCH/POST only; a DELETE whose
        # view names its serializer (account erasure takes the password) has one too.
        if self._deletes_with_body():
            self.method = "POST"
            try:
                return super()._get_request_body(direction)
            finally:
                self.method = "DELETE"
        return super()._get_request_body(direction)

    def _should_add_http404_error_response(self) -> bool:
        # drf-standardized-errors counts ?format= on every operation, and a paginator
        # on any generic view; only our paginated lists and path parameters answer 404.
        paginated = self._get_paginator() is not None and self._is_list_view()
        has_path_parameters = any(p["in"] == "path" for p in self._get_parameters())
        return paginated or has_path_parameters

    def _reads_body(self) -> bool:
        """Whether the view parses a request body at all (only then can the body be
        unparseable, 400 ``parse_error``, or of a type it does not take, 415)."""
        if self.method in ("GET", "HEAD", "OPTIONS"):
            return False
        if self.method == "DELETE":
            return self._deletes_with_body()
        return self.get_request_serializer() is not None

    def _should_add_parse_error_response(self) -> bool:
        return self._reads_body() and super()._should_add_parse_error_response()

    def _should_add_http415_error_response(self) -> bool:
        return self._reads_body() and super()._should_add_http415_error_response()

    def _query_serializers(self) -> list[serializers.Serializer]:
        """Serializers given as ``extend_schema(parameters=[...])``: the view
        validates its query string with them (400 ``validation_error``)."""
        return [force_instance(p) for p in self.get_override_parameters() if is_serializer(p)]

    def _deletes_with_body(self) -> bool:
        return self.method == "DELETE" and bool(getattr(self.view, "serializer_class", None))

    def _should_add_validation_error_response(self) -> bool:
        return (
            super()._should_add_validation_error_response()
            or self._deletes_with_body()
            or bool(self._query_serializers())
        )

    def _determine_fields_with_error_codes(self) -> list[InputDataField]:
        fields = super()._determine_fields_with_error_codes()
        if self._deletes_with_body():
            serializer = force_instance(self.get_request_serializer())
            if isinstance(serializer, serializers.Field):
                fields += get_serializer_fields_with_error_codes(
                    get_flat_serializer_fields(serializer)
                )
        for serializer in self._query_serializers():
            fields += get_serializer_fields_with_error_codes(get_flat_serializer_fields(serializer))
        return fields

    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if (
            direction == "response"
            and self.is_public()
            and self.view.get_authenticators()
            and "401" not in responses
        ):
            # Anyone may call it, but a Bearer token sent along is checked: a bad one is 401.
            responses["401"] = self._get_response_for_code(ErrorResponse([]), "401")
        return responses

    def _get_error_response_examples(self) -> list[OpenApiExample]:
        # Our own examples, one per known code (see _error_response).
        return []

    def _generic_codes(self, status: str) -> list[Code]:
        """The codes DRF itself may answer this operation with, for ``status``."""
        if status == "400":
            return [PARSE_ERROR] if self._should_add_parse_error_response() else []
        if status == "401":
            return UNAUTHORIZED_CODES if self.view.get_authenticators() else []
        if status == "403":
            return [PERMISSION_DENIED] if self._should_add_http403_error_response() else []
        if status == "404":
            return [NOT_FOUND] if self._should_add_http404_error_response() else []
        if status == "415":
            return [UNSUPPORTED_MEDIA_TYPE] if self._should_add_http415_error_response() else []
        return {"429": [THROTTLED], "500": [SERVER_ERROR], "503": [SERVICE_UNAVAILABLE]}.get(
            status, []
        )

    def _error_response(self, known: list[Code], status: str) -> OpenApiResponse:
        codes = [*known]
        for generic in self._generic_codes(status):
            if generic.code not in {c.code for c in codes}:
                codes.append(generic)
        fields: dict[str, set[str]] | None = None
        extra: list[OpenApiExample] = []
        if status == "400" and self._should_add_validation_error_response():
            by_field = self._get_validation_error_codes_by_field(
                self._determine_fields_with_error_codes()
            )
            fields = {name: set(c) for name, c in by_field.items() if c}
            first = next((name for name in sorted(fields) if name != "non_field_errors"), None)
            sample = {"code": "required", "detail": "This field is required.", "attr": first}
            extra.append(
                OpenApiExample(
                    "validation_error",
                    value={"type": "validation_error", "errors": [sample]},
                    response_only=True,
                    status_codes=[status],
                )
            )
        return OpenApiResponse(
            response=ErrorSerializer,
            description=describe(codes, fields=fields),
            examples=[*examples(codes, int(status)), *extra],
        )

    def _get_response_for_code(
        self,
        serializer: Any,
        status_code: str,
        media_types: Any = None,
        direction: str = "response",
    ) -> dict[str, Any]:
        if direction == "response" and status_code[:1] in "45":
            if isinstance(serializer, ErrorResponse):
                serializer = self._error_response(serializer.known, status_code)
            elif serializer is ErrorSerializer:
                # added by drf-standardized-errors for an error DRF itself raises
                serializer = self._error_response([], status_code)
        return super()._get_response_for_code(serializer, status_code, media_types, direction)


# The hook -------------------------------------------------------------------

SHARED_RESPONSES = {
    "401": ("Unauthorized", UNAUTHORIZED_CODES, False),
    "429": ("Throttled", [THROTTLED], True),
    "503": ("ServiceUnavailable", [SERVICE_UNAVAILABLE], True),
}
RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 0},
}


def _optional_stays_optional(schemas: dict[str, Any]) -> None:
    """An optional request field's ``default`` is said in words instead: generators
    (openapi-typescript's ``defaultNonNullable``) type a field with a default as
    always present, so a client would have to send what it may leave out."""
    for name, schema in schemas.items():
        if not name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST's request halves
            continue
        required = set(schema.get("required", []))
        for field_name, field_schema in schema.get("properties", {}).items():
            if field_name in required or "default" not in field_schema:
                continue
            default = json.dumps(field_schema.pop("default"))
            said = f"Default: `{default}`."
            field_schema["description"] = " ".join(
                part for part in (field_schema.get("description", ""), said) if part
            )


def postprocess(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """Every secured operation documents 401; every operation 429 and 503 with
    ``Retry-After``. Each is one shared response; an operation that documents its
    own (with its own codes) gets the header added to it."""
    components = result.setdefault("components", {})
    _optional_stays_optional(components.get("schemas", {}))
    components.setdefault("headers", {})["RetryAfter"] = RETRY_AFTER_HEADER
    shared = components.setdefault("responses", {})
    for name, codes, retry_after in SHARED_RESPONSES.values():
        shared[name] = response_component(codes, retry_after=retry_after)
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation["responses"]
            secured = any(requirement for requirement in operation.get("security", []))
            for status, (name, _codes, retry_after) in SHARED_RESPONSES.items():
                if status == "401" and not secured and status not in responses:
                    continue
                if status not in responses:
                    responses[status] = {"$ref": f"#/components/responses/{name}"}
                elif retry_after:
                    responses[status].setdefault("headers", {})["Retry-After"] = {
                        "$ref": "#/components/headers/RetryAfter"
                    }
            operation["responses"] = dict(sorted(responses.items()))
    return result
