import pytest

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_dependencies(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(response["X-Request-ID"]) == 32


def test_readyz_reports_each_dependency(client):
    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"primary", "replicas", "redis", "broker"}
    assert body["checks"]["primary"] == {"ok": True}


def test_unknown_api_path_is_a_json_404_in_the_contract_shape(client):
    response = client.get("/api/nothing-here")

    assert response.status_code == 404
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "not_found", "detail": "Not found.", "attr": None}],
    }


def test_a_valid_incoming_request_id_is_echoed(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abcdef123456")

    assert response["X-Request-ID"] == "abcdef123456"
