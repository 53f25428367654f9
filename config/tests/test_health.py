import json
import os
import socket
import subprocess
import sys
from pathlib import Path

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


def test_a_request_id_set_by_a_trusted_proxy_is_kept(client, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]  # the test client's REMOTE_ADDR

    response = client.get("/healthz", HTTP_X_REQUEST_ID="abcdef123456")

    assert response["X-Request-ID"] == "abcdef123456"


def test_a_request_id_sent_by_anyone_else_is_replaced(client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    direct = client.get("/healthz", HTTP_X_REQUEST_ID="abcdef123456")
    forwarded = client.get(
        "/healthz", HTTP_X_REQUEST_ID="abcdef123456", HTTP_X_FORWARDED_FOR="10.0.0.1"
    )

    for response in (direct, forwarded):
        assert response["X-Request-ID"] != "abcdef123456"
        assert len(response["X-Request-ID"]) == 32


def test_a_malformed_request_id_is_replaced_even_from_a_trusted_proxy(client, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]

    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith a newline")

    assert len(response["X-Request-ID"]) == 32


def _closed_port() -> int:
    # A port that was just free on loopback: nothing answers there.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_readyz_is_503_when_redis_is_down_and_says_which(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"

    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"] == {"ok": False, "error": "ConnectionError"}
    assert body["checks"]["primary"] == {"ok": True}
    assert body["checks"]["broker"]["ok"] is True


def test_readyz_is_503_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"

    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["primary"] == {"ok": True}


def test_readyz_reports_no_replicas_when_none_are_configured(client, settings):
    settings.DATABASE_REPLICAS = []

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["replicas"] == {}


def test_readyz_is_503_when_the_primary_database_is_down(tmp_path):
    # A fresh process whose primary is a MySQL URL where nothing listens.
    probe = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/readyz', HTTP_HOST='localhost')\n"
        "print(r.status_code, json.dumps(r.json()))\n"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": f"mysql://root@127.0.0.1:{_closed_port()}/animate",
        "DATABASE_CONNECT_TIMEOUT": "2",
        "LOG_LEVEL": "CRITICAL",
    }

    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    checks = json.loads(body)["checks"]
    assert status == "503"
    assert checks["primary"] == {"ok": False, "error": "OperationalError"}
    assert checks["broker"]["ok"] is True


def test_a_bad_host_header_is_a_json_400_in_the_contract_shape(client):
    response = client.get("/healthz", HTTP_HOST="not-ours.example")

    assert response.status_code == 400
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "bad_request", "detail": "Bad request.", "attr": None}],
    }
