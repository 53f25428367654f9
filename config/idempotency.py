"""The ``Idempotency-Key`` header, read the same way by every endpoint that takes it.

A key is the client's own string, stored with what it created (a task, a
payment order) under a unique constraint per user. One that is too long to
store is refused with a 400 in the contract's shape, never cut short: a cut key
could match another request's.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

HEADER = "Idempotency-Key"
# What every table that stores a key can hold (billing prefixes its provider).
MAX_LENGTH = 190


def idempotency_key(request: Request) -> str | None:
    """The request's key without surrounding blanks, None when it sent none; a key
    over ``MAX_LENGTH`` characters is a 400 (``max_length``, attr ``Idempotency-Key``)."""
    key = request.headers.get(HEADER, "").strip()
    if len(key) > MAX_LENGTH:
        raise ValidationError(
            {HEADER: [f"Ensure this header has no more than {MAX_LENGTH} characters."]},
            code="max_length",
        )
    return key or None


def idempotency_parameter(repeat: str) -> OpenApiParameter:
    """The header in the schema; ``repeat`` says what a repeat of the key gets."""
    return OpenApiParameter(
        HEADER,
        {"type": "string", "maxLength": MAX_LENGTH},
        OpenApiParameter.HEADER,
        required=False,
        description=f"A repeat with the same key {repeat}",
    )
