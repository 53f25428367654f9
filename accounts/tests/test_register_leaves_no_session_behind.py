"""Register answers with JWTs: it creates no Django session row and sets no
session cookie (allauth's verification flow wrote one, unused)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session

pytestmark = pytest.mark.django_db


def test_register_creates_no_session_row_or_cookie(api_client) -> None:
    response = api_client.post(
        "/api/auth/register", {"email": "new@example.com", "password": "copper-kettle-55-rain"}
    )

    assert response.status_code == 201
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert not Session.objects.exists()


def test_a_refused_registration_creates_no_session_either(api_client) -> None:
    body = {"email": "new@example.com", "password": "copper-kettle-55-rain"}
    api_client.post("/api/auth/register", body)
    api_client.cookies.clear()

    again = api_client.post("/api/auth/register", body)

    assert again.status_code == 400
    assert settings.SESSION_COOKIE_NAME not in again.cookies
    assert not Session.objects.exists()
