"""Driving an admin action the way staff do: choose it, then confirm with a reason."""

from __future__ import annotations

from typing import Any

from django.test import Client


def run_action(
    client: Client,
    changelist: str,
    action: str,
    pks: list[Any],
    *,
    reason: str = "ticket 42",
    follow: bool = False,
    **fields: str,
) -> Any:
    """Post ``action`` for ``pks``, then apply it from its intermediate page (the
    reason form) with ``reason`` and ``fields``; returns the second response. An
    action the user may not run has no page: its first answer is returned."""
    chosen = {"action": action, "_selected_action": [str(pk) for pk in pks]}
    page = client.post(changelist, chosen, follow=follow)
    offered = (
        page.status_code == 200
        and not getattr(page, "redirect_chain", None)
        and "form" in (page.context or {})
    )
    if not offered:
        return page
    initial = {bound.name: bound.value() for bound in page.context["form"] if bound.value()}
    data = {**initial, **chosen, "apply": "1", "reason": reason, **fields}
    return client.post(changelist, data, follow=follow)
