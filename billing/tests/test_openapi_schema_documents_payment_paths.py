from __future__ import annotations

import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_schema_documents_every_billing_path(api_client) -> None:
    response = api_client.get("/api/schema")

    assert response.status_code == 200
    paths = yaml.safe_load(response.content)["paths"]
    expected = {
        "/api/payments/packages": "get",
        "/api/payments/stripe/create": "post",
        "/api/payments/wechat/create": "post",
        "/api/payments": "get",
        "/api/payments/{payment_id}": "get",
        "/api/users/credits": "get",
        "/api/users/credits/history": "get",
    }
    for path, method in expected.items():
        assert method in paths[path], path
    create = paths["/api/payments/stripe/create"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]]
    assert "201" in create["responses"]


def test_schema_documents_provider_errors_and_leaves_the_webhooks_out(api_client) -> None:
    paths = yaml.safe_load(api_client.get("/api/schema").content)["paths"]

    for create in ["/api/payments/stripe/create", "/api/payments/wechat/create"]:
        responses = paths[create]["post"]["responses"]
        assert {"201", "400", "429", "503"} <= set(responses), create
        for code in ("payment_provider_unavailable", "payment_provider_not_configured"):
            assert code in responses["503"]["description"]
        assert "package_unavailable" in responses["400"]["description"]
    # the providers' notifications are for the providers, not for generated clients
    assert "/api/payments/webhook/stripe" not in paths
    assert "/api/payments/webhook/wechat" not in paths
