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
        "/api/payments/webhook/stripe": "post",
        "/api/payments/webhook/wechat": "post",
        "/api/payments/{payment_id}": "get",
        "/api/users/credits": "get",
    }
    for path, method in expected.items():
        assert method in paths[path], path
    create = paths["/api/payments/stripe/create"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]]
    assert "201" in create["responses"]


def test_schema_documents_provider_errors_and_notification_headers(api_client) -> None:
    paths = yaml.safe_load(api_client.get("/api/schema").content)["paths"]

    for create in ["/api/payments/stripe/create", "/api/payments/wechat/create"]:
        assert {"201", "400", "429", "503"} <= set(paths[create]["post"]["responses"]), create
    stripe_hook = paths["/api/payments/webhook/stripe"]["post"]
    wechat_hook = paths["/api/payments/webhook/wechat"]["post"]
    assert [p["name"] for p in stripe_hook["parameters"]] == ["Stripe-Signature"]
    assert {p["name"] for p in wechat_hook["parameters"]} == {
        "Wechatpay-Signature",
        "Wechatpay-Timestamp",
        "Wechatpay-Nonce",
        "Wechatpay-Serial",
        "Wechatpay-Signature-Type",
    }
    assert {"204", "400"} <= set(wechat_hook["responses"])
