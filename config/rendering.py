"""Small helpers for the hot responses that build their JSON directly.

The serializers still declare each shape (the schema, and tests that hold the
direct rendering equal to DRF's); these keep the values exactly as DRF's fields
render them.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

# One field instance for every response: ISO 8601 in the current time zone,
# ``...Z`` for UTC, as every DateTimeField of the API renders.
_DATETIME = serializers.DateTimeField()


def datetime_json(value: Any) -> str | None:
    """A moment as the API renders it, or None."""
    return _DATETIME.to_representation(value) if value else None
