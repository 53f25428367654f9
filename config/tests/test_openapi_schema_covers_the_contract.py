"""/api/schema documents every endpoint of the REST contract (API.md), and
/docs and /redoc render it."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

# API.md's tables, method and path, verbatim.
CONTRACT = [
    ("post", "/api/auth/register"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/wechat/login"),
    ("post", "/api/auth/google/login"),
    ("post", "/api/auth/refresh"),
    ("post", "/api/auth/logout"),
    ("get", "/api/auth/me"),
    ("post", "/api/auth/password/reset"),
    ("post", "/api/auth/password/reset/confirm"),
    ("post", "/api/auth/email/verify"),
    ("post", "/api/auth/email/resend"),
    ("post", "/api/videos/upload"),
    ("post", "/api/videos/quote"),
    ("post", "/api/videos/animate-move"),
    ("post", "/api/videos/animate-mix"),
    ("get", "/api/videos/tasks/{task_id}"),
    ("get", "/api/tasks/{task_id}"),
    ("get", "/api/tasks/user/tasks"),
    ("delete", "/api/tasks/{task_id}"),
    ("post", "/api/tasks/{task_id}/retry"),
    ("get", "/api/tasks/events"),
    ("get", "/api/payments/packages"),
    ("post", "/api/payments/stripe/create"),
    ("post", "/api/payments/wechat/create"),
    ("get", "/api/payments"),
    ("get", "/api/payments/{payment_id}"),
    ("get", "/api/users/profile"),
    ("put", "/api/users/profile"),
    ("get", "/api/users/credits"),
    ("get", "/api/users/credits/history"),
    ("delete", "/api/users/providers/{provider}"),
    ("delete", "/api/users/account"),
    ("get", "/api/config"),
]
# Served, for the providers; not in the public schema, so no generated client calls them.
WEBHOOKS = ["/api/payments/webhook/stripe", "/api/payments/webhook/wechat"]


def test_the_schema_documents_every_contract_endpoint_without_trailing_slashes(client):
    response = client.get("/api/schema", {"format": "json"})

    paths = response.json()["paths"]
    assert response.status_code == 200
    missing = [(m, p) for m, p in CONTRACT if m not in paths.get(p, {})]
    assert missing == []
    assert [p for p in paths if p.endswith("/")] == []
    assert [p for p in WEBHOOKS if p in paths] == []


def test_the_webhooks_left_out_of_the_schema_are_still_served():
    client = Client(raise_request_exception=False)  # unconfigured providers answer 503
    for path in WEBHOOKS:
        assert client.post(path, b"{}", content_type="application/json").status_code != 404


def test_docs_and_redoc_render_the_schema(client):
    docs = client.get("/docs")
    redoc = client.get("/redoc")

    assert docs.status_code == 200
    assert b"/api/schema" in docs.content
    assert redoc.status_code == 200
    assert b"/api/schema" in redoc.content
