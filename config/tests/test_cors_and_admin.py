"""The SPA's origins may call the API (CORS), and the admin answers at /admin/."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_a_configured_spa_origin_may_call_the_api(client):
    response = client.options(
        "/api/auth/login",
        HTTP_ORIGIN="http://localhost:5173",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type,idempotency-key",
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "http://localhost:5173"
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed


def test_the_spa_can_read_the_request_id_and_retry_after_headers(client):
    response = client.get("/api/auth/me", HTTP_ORIGIN="http://localhost:5173")

    exposed = {h.strip() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert exposed == {"X-Request-ID", "Retry-After"}


def test_an_unknown_origin_gets_no_cors_headers(client):
    response = client.options(
        "/api/auth/login",
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )

    assert "Access-Control-Allow-Origin" not in response


def test_the_admin_login_page_renders(client):
    # It is the staff's sign-in (allauth's login, accounts/staff.py).
    response = client.get("/admin/login/", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith("/staff/login/")
    assert b'name="password"' in response.content
