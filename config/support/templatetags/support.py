"""Filters of support's admin pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def minor_units(amount: int | None) -> str:
    """Money kept in minor units (cents, fen) shown in major units: 999 -> 9.99."""
    if amount is None:
        return "-"
    return f"{amount // 100}.{amount % 100:02d}"
