"""/api/schema says exactly what the API does, so that generated clients work as
generated (the clients themselves are run in test_generated_clients_run_the_journey)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

PUBLIC = {
    ("post", "/api/auth/register"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/google/login"),
    ("post", "/api/auth/wechat/login"),
    ("post", "/api/auth/refresh"),
    ("post", "/api/auth/logout"),
    ("post", "/api/auth/password/reset"),
    ("post", "/api/auth/password/reset/confirm"),
    ("post", "/api/auth/email/verify"),
    ("get", "/api/payments/packages"),
    ("get", "/api/config"),
    ("get", "/api/videos/files/{file_id}.{ext}"),
}


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict[str, Any]:
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _operations(schema: dict[str, Any]):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def _resolve(schema: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[-1]
        return schema["components"]["responses"][name]
    return response


def test_generation_is_valid_and_warning_free(tmp_path) -> None:
    call_command("spectacular", validate=True, fail_on_warn=True, file=str(tmp_path / "s.yaml"))


def test_every_operation_has_an_id_a_summary_and_a_declared_tag(schema) -> None:
    declared = {tag["name"] for tag in schema["tags"]}
    assert declared == {"auth", "users", "videos", "tasks", "payments", "config"}
    assert all(tag.get("description") for tag in schema["tags"])
    for method, path, operation in _operations(schema):
        assert operation.get("summary"), (method, path)
        assert "\n" not in operation["summary"], (method, path)
        assert operation["operationId"] and "api_" not in operation["operationId"], (method, path)
        assert len(operation["tags"]) == 1 and operation["tags"][0] in declared, (method, path)


def test_public_operations_say_security_empty_and_others_need_the_bearer(schema) -> None:
    for method, path, operation in _operations(schema):
        if (method, path) in PUBLIC:
            assert operation["security"] == [], (method, path)
        else:
            assert operation["security"] == [{"jwtAuth": []}], (method, path)
    scheme = schema["components"]["securitySchemes"]["jwtAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


def test_every_error_response_is_the_one_error_shape_with_its_codes_listed(schema) -> None:
    for method, path, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if int(status) < 400 or status == "416":
                continue
            response = _resolve(schema, response)
            content = response["content"]
            assert list(content) == ["application/json"], (method, path, status)
            assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            assert response["description"].startswith("Known codes: "), (method, path, status)
            for name, example in content["application/json"]["examples"].items():
                code = example["value"]["errors"][0]["code"]
                assert f"`{code}`" in response["description"] or code == "required", (
                    method,
                    path,
                    status,
                    name,
                )


def test_the_error_code_is_an_open_string_and_the_extra_fields_are_typed(schema) -> None:
    error = schema["components"]["schemas"]["Error"]
    detail = schema["components"]["schemas"]["ErrorDetail"]

    assert sorted(error["required"]) == ["errors", "type"]
    assert schema["components"]["schemas"]["ErrorTypeEnum"]["enum"] == [
        "validation_error",
        "client_error",
        "server_error",
    ]
    assert detail["properties"]["code"]["type"] == "string"
    assert "enum" not in detail["properties"]["code"]
    assert sorted(detail["required"]) == ["attr", "code", "detail"]
    assert detail["properties"]["attr"]["type"] == ["string", "null"]
    for extra in ("needed", "available", "max_bytes", "errcode", "retry_after"):
        assert detail["properties"][extra]["type"] == "integer", extra
    assert detail["properties"]["detected"]["type"] == "string"


def test_401_on_secured_operations_and_429_503_with_retry_after_everywhere(schema) -> None:
    shared = schema["components"]["responses"]
    assert set(shared) == {"Unauthorized", "Throttled", "ServiceUnavailable"}
    assert "Retry-After" in shared["Throttled"]["headers"]
    assert "Retry-After" in shared["ServiceUnavailable"]["headers"]
    assert schema["components"]["headers"]["RetryAfter"]["schema"]["type"] == "integer"
    for _method, path, operation in _operations(schema):
        responses = operation["responses"]
        if operation["security"]:
            assert "`token_not_valid`" in _resolve(schema, responses["401"])["description"]
        for status in ("429", "503"):
            assert "Retry-After" in _resolve(schema, responses[status])["headers"], (path, status)


def test_json_operations_take_json_only_and_the_upload_multipart_only(schema) -> None:
    for method, path, operation in _operations(schema):
        body = operation.get("requestBody")
        if body is None:
            continue
        expected = ["multipart/form-data"] if path == "/api/videos/upload" else ["application/json"]
        assert list(body["content"]) == expected, (method, path)


def test_the_account_delete_body_is_in_the_schema(schema) -> None:
    delete = schema["paths"]["/api/users/account"]["delete"]
    body = delete["requestBody"]["content"]["application/json"]["schema"]

    assert body == {"$ref": "#/components/schemas/EraseAccountRequest"}
    assert "password" in schema["components"]["schemas"]["EraseAccountRequest"]["properties"]
    assert "`reauthentication_required`" in delete["responses"]["403"]["description"]
    assert "`invalid_credentials`" in delete["responses"]["400"]["description"]


def test_fields_always_sent_are_required_and_enums_are_enums(schema) -> None:
    components = schema["components"]["schemas"]
    required = {
        "Payment": {"id", "provider", "status", "package", "credits", "amount", "currency"},
        "StripePayment": {"checkout_url", "paid_at", "status"},
        "WechatPayment": {"trade_type", "code_url", "h5_url", "jsapi_params"},
        "LedgerEntry": {"id", "kind", "amount", "reserved_delta", "balance_after", "ref"},
        "Task": {"image", "video", "result", "error", "credits", "status"},
        "User": {"avatar_url", "email", "providers"},
        "CreditPackage": {"id", "name", "credits", "prices"},
    }
    for name, fields in required.items():
        assert fields <= set(components[name]["required"]), name
    wechat = components["WechatPayment"]["properties"]
    assert wechat["trade_type"]["allOf"] == [{"$ref": "#/components/schemas/TradeTypeEnum"}]
    assert components["TradeTypeEnum"]["enum"] == ["native", "jsapi", "h5"]
    assert wechat["jsapi_params"]["oneOf"] == [
        {"$ref": "#/components/schemas/JsapiParams"},
        {"type": "null"},
    ]
    assert set(components["JsapiParams"]["required"]) == {
        "appId",
        "timeStamp",
        "nonceStr",
        "package",
        "signType",
        "paySign",
    }
    assert components["User"]["properties"]["avatar_url"]["type"] == ["string", "null"]
    assert components["User"]["properties"]["providers"]["items"] == {
        "$ref": "#/components/schemas/SignInProviderEnum"
    }
    assert components["PaymentStatusEnum"]["enum"] == [
        "pending",
        "paid",
        "failed",
        "canceled",
        "refunded",
    ]


def test_nullable_nested_objects_validate_as_object_or_null(schema) -> None:
    task = schema["components"]["schemas"]["Task"]["properties"]

    for name, ref in [("image", "File"), ("video", "File"), ("result", "TaskResult")]:
        assert task[name]["oneOf"] == [
            {"$ref": f"#/components/schemas/{ref}"},
            {"type": "null"},
        ], name
    assert task["error"]["oneOf"][1] == {"type": "null"}
    assert schema["openapi"].startswith("3.1")


def test_lists_cap_page_size_at_100_and_always_send_their_four_keys(schema) -> None:
    for path in ("/api/tasks/user/tasks", "/api/payments", "/api/users/credits/history"):
        parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert parameters["page_size"]["schema"]["maximum"] == 100, path
        assert parameters["page"]["schema"]["minimum"] == 1, path
    page = schema["components"]["schemas"]["PaginatedTaskList"]
    assert sorted(page["required"]) == ["count", "next", "previous", "results"]
    assert page["properties"]["next"]["type"] == ["string", "null"]


def test_known_codes_of_the_operations_a_client_switches_on(schema) -> None:
    def codes(method: str, path: str, status: str) -> str:
        response = schema["paths"][path][method]["responses"][status]
        return _resolve(schema, response)["description"]

    assert "`invalid_credentials`" in codes("post", "/api/auth/login", "400")
    assert "`email_taken`" in codes("post", "/api/auth/register", "400")
    assert "`invalid_password`" in codes("post", "/api/auth/register", "400")
    assert "`user_inactive`" in codes("post", "/api/auth/refresh", "401")
    assert "`validation_error`" in codes("get", "/api/tasks/user/tasks", "400")
    assert "`status`: `invalid_choice`" in codes("get", "/api/tasks/user/tasks", "400")
    assert "`insufficient_credits`" in codes("post", "/api/videos/animate-move", "402")
    assert "`file_too_large`" in codes("post", "/api/videos/upload", "413")
    assert "`unsupported_media`" in codes("post", "/api/videos/upload", "415")
    assert "`task_not_cancelable`" in codes("delete", "/api/tasks/{task_id}", "409")
    assert "`last_sign_in_method`" in codes("delete", "/api/users/providers/{provider}", "409")
    assert "`payment_provider_not_configured`" in codes(
        "post", "/api/payments/stripe/create", "503"
    )
    example = schema["paths"]["/api/videos/animate-move"]["post"]["responses"]["402"]["content"][
        "application/json"
    ]["examples"]["InsufficientCredits"]["value"]
    assert example["errors"][0] == {
        "code": "insufficient_credits",
        "detail": "Not enough credits.",
        "attr": None,
        "needed": 27,
        "available": 5,
    }


def test_servers_are_relative_and_info_names_licence_and_contact(schema) -> None:
    assert schema["servers"] == [{"url": "/", "description": "This deployment"}]
    assert schema["info"]["license"] == {
        "name": "Proprietary",
        "identifier": "LicenseRef-Proprietary",
    }
    assert schema["info"]["contact"]["name"]


def test_the_webhooks_are_not_in_the_public_schema(schema) -> None:
    assert [p for p in schema["paths"] if "/webhook/" in p] == []
