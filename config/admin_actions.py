"""How a support action runs in the admin, in every app: an intermediate page that
lists what it will touch and asks why; then the app's service, once per object;
an admin-log row per object done (with the reason); a message per refusal.

Each action also names its permission (``@admin.action(permissions=[...])``),
so staff without it neither see the action nor can post it (``support`` creates
the permissions and the roles that hold them). An action started from the
customer page carries ``next`` and returns there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme

from config.errors import DomainError

T = TypeVar("T", bound=models.Model)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the admin history, and in the ledger where credits move.",
    )
    # Drawn when the page is shown, so submitting the same page twice acts once
    # where the service is keyed (adjustments).
    key = forms.CharField(widget=forms.HiddenInput, max_length=32, required=False)

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why.")
        return reason


def confirm(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: Iterable[Any],
    *,
    title: str,
    intro: str,
    lines: list[str],
    form_class: type[ReasonForm] = ReasonForm,
) -> tuple[ReasonForm | None, TemplateResponse | None]:
    """An action's intermediate page: ``(valid form, None)`` once applied, else
    ``(None, page)`` (first showing, or the form's errors)."""
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            return form, None
    else:
        form = form_class(initial={"key": uuid.uuid4().hex})
    page = TemplateResponse(
        request,
        "admin/confirm_action.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "lines": lines,
            "form": form,
            "pks": [obj.pk for obj in queryset],
            "action": request.POST.get("action", ""),
            "next": _next(request) or "",
        },
    )
    return None, page


def apply_each(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    objects: Iterable[T],
    action: Callable[[T], object],
    *,
    done: str,
    reason: str,
    owner: Callable[[T], Any] | None = None,
) -> HttpResponseRedirect | None:
    """Run ``action`` on each object; log each success with ``done`` and the
    reason, on the object and on its ``owner`` (the customer, whose history then
    lists every action taken for them); report successes and refusals (a
    ``DomainError``, which changed nothing). Returns where to go next (the
    customer page it came from), or None for the changelist."""
    count, refused = 0, []
    for obj in objects:
        try:
            result = action(obj)
        except DomainError as error:
            # Staff read what went wrong below us too (a provider's own words).
            refused.append(f"{obj.pk}: {error.code} ({error.internal_detail})")
            continue
        note = f"{done}{f' ({result})' if isinstance(result, str) else ''}. Reason: {reason}"
        modeladmin.log_change(request, obj, note)
        if owner is not None:
            modeladmin.log_change(request, owner(obj), f"{obj._meta.verbose_name} {obj.pk}: {note}")
        count += 1
    modeladmin.message_user(request, f"{done}: {count}.", messages.SUCCESS)
    if refused:
        modeladmin.message_user(request, "Refused: " + "; ".join(refused), messages.WARNING)
    return back(request)


def back(request: HttpRequest) -> HttpResponseRedirect | None:
    """The page the action was started from, when it is ours to go back to."""
    url = _next(request)
    return HttpResponseRedirect(url) if url else None


def _next(request: HttpRequest) -> str | None:
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


def customer_link(user_id: Any) -> str:
    """A link to the customer page (``support``), for every object that has a user."""
    if user_id is None:
        return "-"
    return format_html(
        '<a href="{}">customer page</a>', reverse("admin:support_customer", args=[user_id])
    )
