"""Unhandled errors of requests and tasks reach Sentry (a loopback server speaking
its envelope protocol), tagged with environment, release and request id, and
scrubbed by the rules of the logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sentry_sdk
import structlog
from rest_framework.test import APIClient

from config.celery import app
from config.sentry import init_sentry
from config.tests.fakes.sentry import FakeSentry, fake_sentry  # noqa: F401
from config.tests.worker_process import worker_process  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ("hunter2-secret", "eyJhbGciOiJIUzI1NiJ9.secret-access-token")


@pytest.fixture
def sentry(fake_sentry: FakeSentry) -> Iterator[FakeSentry]:  # noqa: F811
    init_sentry(dsn=fake_sentry.dsn, environment="staging", release="animate@3f2a9c1")
    yield fake_sentry
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)


@pytest.mark.django_db
@pytest.mark.urls("config.tests.urls_sentry")
def test_a_request_that_fails_reaches_sentry_tagged_and_scrubbed(sentry, settings) -> None:
    # Given a request carrying a password, a bearer token and the request id our proxy set
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]  # the test client's REMOTE_ADDR
    client = APIClient(raise_request_exception=False)
    # When the view fails with an unexpected error
    response = client.post(
        "/api/sign-in-that-breaks",
        {"email": "ada@example.com", "password": SECRETS[0]},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {SECRETS[1]}",
        HTTP_X_REQUEST_ID="req-0123456789",
    )
    sentry_sdk.flush(timeout=10)
    # Then the client gets the contract's 500, and Sentry gets one event
    assert response.status_code == 500
    [event] = sentry.wait_for_events(1)
    # tagged with where it came from and the request id the logs carry
    assert event["environment"] == "staging"
    assert event["release"] == "animate@3f2a9c1"
    assert event["tags"]["request_id"] == "req-0123456789"
    assert response["X-Request-ID"] == "req-0123456789"
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    # scrubbed: the body's password, the Authorization header, the frame's variable
    request = event["request"]
    assert request["data"]["password"] == "***"
    assert request["data"]["email"] == "ada@example.com"
    headers = {k.lower(): v for k, v in request.get("headers", {}).items()}
    assert headers.get("authorization", "***") in {"***", "[Filtered]"}
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    [view_frame] = [f for f in frames if f.get("function") == "post"]
    assert view_frame["vars"]["password"] in {"***", "[Filtered]"}
    # and nothing secret left the process, anywhere in what was sent
    sent = b"".join(sentry.raw)
    for secret in SECRETS:
        assert secret.encode() not in sent
    # and no personal data by default: no cookies, no client address, no user
    assert "cookies" not in request and "user" not in event
    assert "REMOTE_ADDR" not in request.get("env", {})
    # and the log lines before it are breadcrumbs by event name, the address left out
    crumbs = [
        c for c in event["breadcrumbs"]["values"] if c.get("category", "").startswith("django_")
    ]
    started = next(c for c in crumbs if c["message"] == "request_started")
    assert started["data"]["request_id"] == "req-0123456789"
    assert "ip" not in started["data"]


def test_breadcrumbs_are_scrubbed_like_log_lines() -> None:
    from config.sentry import before_breadcrumb, before_send

    crumb = {"category": "httplib", "data": {"code": 200, "token": "t0k", "url": "/x"}}

    assert before_breadcrumb(crumb, {})["data"] == {"code": 200, "token": "***", "url": "/x"}
    with structlog.contextvars.bound_contextvars(request_id="req-abcdefgh"):
        event = before_send({"extra": {"refresh": "r", "code": "oauth-code"}}, {})
    assert event["extra"] == {"refresh": "***", "code": "***"}
    assert event["tags"] == {"request_id": "req-abcdefgh"}


@pytest.mark.django_db(transaction=True)
def test_a_task_that_fails_in_a_worker_reaches_sentry_with_the_request_id(
    fake_sentry,  # noqa: F811
    worker_process,  # noqa: F811
) -> None:
    # Given a worker process reporting to Sentry
    worker_process.env.update(
        SENTRY_DSN=fake_sentry.dsn, SENTRY_ENVIRONMENT="staging", SENTRY_RELEASE="animate@1"
    )
    worker_process.start()
    # When a request enqueues a task that fails there
    with structlog.contextvars.bound_contextvars(request_id="req-from-the-web"):
        app.send_task("accounts.flush_expired_tokens", args=["unexpected"])
    # Then the worker reports it, tagged with the request that started it
    [event] = fake_sentry.wait_for_events(1, timeout=30)
    assert event["environment"] == "staging"
    assert event["release"] == "animate@1"
    assert event["tags"]["request_id"] == "req-from-the-web"
    assert event["exception"]["values"][-1]["type"] == "TypeError"
    assert "celery" in json.dumps(event.get("contexts", {})).lower() or "celery" in json.dumps(
        event.get("extra", {})
    )


def _sentry_options(**env: str) -> dict[str, object]:
    script = (
        "import json, django; django.setup(); import sentry_sdk; c = sentry_sdk.get_client();"
        "print(json.dumps({'active': c.is_active(), 'environment': c.options.get('environment'),"
        "'release': c.options.get('release')}))"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    environ.update(DJANGO_SETTINGS_MODULE="config.settings.base", **env)
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environ, capture_output=True, check=True
    )
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def test_sentry_is_on_only_when_a_dsn_is_set_and_tags_what_the_environment_says() -> None:
    dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/42"

    assert _sentry_options()["active"] is False
    assert _sentry_options(SENTRY_DSN=dsn, SENTRY_ENVIRONMENT="eu-1", APP_RELEASE="9f8e7d6") == {
        "active": True,
        "environment": "eu-1",
        "release": "9f8e7d6",
    }
    options = _sentry_options(SENTRY_DSN=dsn, SENTRY_RELEASE="animate@2", APP_RELEASE="x")
    assert options["environment"] == "development"
    assert options["release"] == "animate@2"
