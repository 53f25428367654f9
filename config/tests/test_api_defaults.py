"""The DRF defaults every endpoint inherits: authentication, pagination,
throttling, and the one error shape of API.md for every error."""

from __future__ import annotations

import pytest
from django.contrib.sites.models import Site
from django.test import Client
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("config.tests.urls_api")]


def _error(error_type: str, code: str, detail: str, attr: str | None = None, **extra) -> dict:
    return {"type": error_type, "errors": [{"code": code, "detail": detail, "attr": attr, **extra}]}


def test_an_endpoint_needs_a_token_by_default(api_client):
    response = api_client.get("/api/sites")

    assert response.status_code == 401
    assert response.json() == _error(
        "client_error", "not_authenticated", "Authentication credentials were not provided."
    )


def test_a_garbage_bearer_token_is_a_401_in_the_contract_shape(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")

    response = api_client.get("/api/sites")

    body = response.json()
    assert response.status_code == 401
    assert body["type"] == "client_error"
    assert body["errors"][0]["code"] == "token_not_valid"


def test_lists_are_paginated_with_page_size_capped_at_100(api_client):
    Site.objects.bulk_create(Site(domain=f"d{n}.example", name="d") for n in range(104))
    api_client.force_authenticate(UserFactory())

    first = api_client.get("/api/sites").json()
    capped = api_client.get("/api/sites", {"page_size": 500}).json()
    last = api_client.get("/api/sites", {"page": 6}).json()

    assert first["count"] == 105  # with django.contrib.sites' example.com
    assert len(first["results"]) == 20
    assert first["previous"] is None
    assert first["next"] == "http://testserver/api/sites?page=2"
    assert len(capped["results"]) == 100
    assert len(last["results"]) == 5
    assert last["next"] is None


def test_an_unknown_page_is_a_404_in_the_contract_shape(api_client):
    api_client.force_authenticate(UserFactory())

    response = api_client.get("/api/sites", {"page": 99})

    assert response.status_code == 404
    assert response.json() == _error("client_error", "not_found", "Invalid page.")


def test_a_wrong_method_is_a_405_in_the_contract_shape(api_client):
    response = api_client.post("/api/public", {})

    assert response.status_code == 405
    assert response.json() == _error(
        "client_error", "method_not_allowed", 'Method "POST" not allowed.'
    )


def test_bad_input_is_a_400_naming_the_field(api_client):
    response = api_client.post("/api/validate", {"count": 0}, format="json")

    assert response.status_code == 400
    assert response.json() == _error(
        "validation_error",
        "min_value",
        "Ensure this value is greater than or equal to 1.",
        attr="count",
    )


def test_a_drf_404_is_in_the_contract_shape(api_client):
    response = api_client.get("/api/missing")

    assert response.status_code == 404
    assert response.json() == _error("client_error", "not_found", "Not found.")


def test_a_domain_error_keeps_its_code_status_extras_and_retry_after(api_client):
    response = api_client.get("/api/domain")

    assert response.status_code == 402
    assert response["Retry-After"] == "30"
    assert response.json() == _error(
        "client_error",
        "not_enough_probes",
        "Not enough probes.",
        needed=5,
        available=2,
        retry_after=30,
    )


def test_an_unexpected_error_in_a_view_is_a_500_in_the_contract_shape_without_details():
    client = APIClient(raise_request_exception=False)

    response = client.get("/api/boom")

    assert response.status_code == 500
    assert response.json() == _error("server_error", "error", "A server error occurred.")
    assert b"unexpected bug" not in response.content


def test_an_unexpected_error_outside_drf_is_a_json_500():
    client = Client(raise_request_exception=False)

    response = client.get("/plain/boom")

    assert response.status_code == 500
    assert response.json() == _error("server_error", "error", "A server error occurred.")


def test_anonymous_clients_are_throttled_with_retry_after(api_client, settings):
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["anon"].split("/")[0])

    statuses = [api_client.get("/api/public").status_code for _ in range(limit)]
    throttled = api_client.get("/api/public")
    other_ip = api_client.get("/api/public", REMOTE_ADDR="10.0.0.9")

    assert statuses == [200] * limit
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    body = throttled.json()
    assert body["type"] == "client_error"
    assert body["errors"][0]["code"] == "throttled"
    assert other_ip.status_code == 200


def test_a_scoped_view_is_limited_per_user_by_its_own_rate(monkeypatch, settings):
    # A scope's rate comes from DEFAULT_THROTTLE_RATES, where each app adds its own.
    monkeypatch.setitem(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "probe", "3/min")
    alice, bob = APIClient(), APIClient()
    alice.force_authenticate(UserFactory())
    bob.force_authenticate(UserFactory())

    allowed = [alice.get("/api/scoped").status_code for _ in range(3)]
    throttled = alice.get("/api/scoped")
    other_user = bob.get("/api/scoped")
    other_scope = alice.get("/api/public")

    assert allowed == [200, 200, 200]
    assert throttled.status_code == 429
    assert throttled.json()["errors"][0]["code"] == "throttled"
    assert other_user.status_code == 200
    assert other_scope.status_code == 200


def test_permission_denied_outside_drf_is_a_json_403(client):
    response = client.get("/plain/forbidden")

    assert response.status_code == 403
    assert response.json() == _error(
        "client_error", "permission_denied", "You do not have permission."
    )


def test_a_lost_database_connection_is_a_503_the_client_may_retry():
    # (a handled 503 is logged with its status, not raised as a crash: no
    # raise_request_exception=False is needed)
    response = APIClient().get("/api/database-gone")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == _error(
        "server_error",
        "service_unavailable",
        "The database is unavailable; try again shortly.",
        retry_after=5,
    )
