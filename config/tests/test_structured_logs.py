"""Structured logs: JSON lines carrying the request id, with secrets masked.

Run in a fresh interpreter with LOG_FORMAT=json, reading what reaches stderr,
so the real logging configuration is what is tested.
"""

from __future__ import annotations

import json

import pytest

from config.logging import redact
from config.tests.fresh_process import run_python

PROBE = """
import django
django.setup()
import structlog
from django.test import Client

response = Client().get("/healthz", HTTP_HOST="localhost", HTTP_X_REQUEST_ID="req-0123456789")
Client().get("/healthz", HTTP_HOST="not-allowed.example")  # Django's own warning
generated = Client().get("/healthz", HTTP_HOST="localhost")["X-Request-ID"]
print(generated)
assert response["X-Request-ID"] == "req-0123456789"
structlog.contextvars.bind_contextvars(request_id="req-0123456789")
structlog.get_logger("probe").info(
    "signed_in",
    email="a@example.com",
    password="hunter2",
    payload={"refresh": "eyJ-refresh", "card": {"card_number": "4242424242424242"}},
    items=[{"access_token": "ya29.secret"}],
    code="oauth-one-time-code",
)
"""


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], str]:
    """What one probe process logged (every stderr line parsed) and printed."""
    tmp_path = tmp_path_factory.mktemp("logs")
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "LOG_FORMAT": "json",
        # the test client's address plays the proxy whose X-Request-ID is believed
        "TRUSTED_PROXIES": "127.0.0.1/32",
    }
    result = run_python(PROBE, tmp_path, env)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is JSON, or this fails
    return records, result.stdout.strip()


def test_request_log_lines_are_json_and_carry_the_request_id(logged):
    records, generated = logged

    finished = [
        r
        for r in records
        if r["event"] == "request_finished" and r["request_id"] == "req-0123456789"
    ]
    assert len(finished) == 1
    assert finished[0]["request_id"] == "req-0123456789"
    assert finished[0]["code"] == 200
    assert finished[0]["request"] == "GET /healthz"
    assert finished[0]["level"] == "info"
    assert finished[0]["timestamp"].endswith("Z")
    # A request without an id gets one, the same in its logs and its response.
    assert {r["request_id"] for r in records if r["event"] == "request_finished"} >= {generated}
    # Django's own loggers speak JSON too.
    assert any(r["logger"] == "django.security.DisallowedHost" for r in records)


def test_secrets_never_reach_a_log_line(logged):
    records, _ = logged

    signed_in = next(r for r in records if r["event"] == "signed_in")
    assert signed_in["request_id"] == "req-0123456789"
    assert signed_in["email"] == "a@example.com"
    assert signed_in["password"] == "***"
    assert signed_in["payload"] == {"refresh": "***", "card": "***"}
    assert signed_in["items"] == [{"access_token": "***"}]
    assert signed_in["code"] == "***"
    raw = json.dumps(records)
    for secret in ("hunter2", "eyJ-refresh", "4242424242424242", "ya29.secret", "oauth-one"):
        assert secret not in raw


def test_redact_masks_nested_keys_whatever_their_case():
    event = {"event": "x", "Authorization": "Bearer abc", "data": {"API_KEY": "k", "n": 1}}

    assert redact(None, "info", event) == {
        "event": "x",
        "Authorization": "***",
        "data": {"API_KEY": "***", "n": 1},
    }
