"""Support's own admin pages: the search box and the customer page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def search(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def customer(request: HttpRequest, user_id: object) -> HttpResponse:
    raise NotImplementedError
