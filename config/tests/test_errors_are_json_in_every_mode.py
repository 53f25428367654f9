"""Clients read the contract's JSON errors with DEBUG off (the embedded default)
and on: no debug page listing URL patterns or settings, no unsigned /media/."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

NOT_FOUND = {
    "type": "client_error",
    "errors": [{"code": "not_found", "detail": "Not found.", "attr": None}],
}


@pytest.fixture(params=[False, True], ids=["debug_off", "debug_on"])
def debug(request, settings) -> bool:
    settings.DEBUG = request.param
    return request.param


# Other paths are the web console's routes (its own "Page not found" included,
# config/tests/test_console_is_served_at_the_root.py); one naming a file that
# the build does not have is a 404 here too.
@pytest.mark.parametrize("path", ["/api/no-such-endpoint", "/no-such-file.js", "/api/videos/x"])
def test_an_unknown_path_is_a_json_404_listing_nothing(client, debug, path) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND
    assert b"urlpatterns" not in response.content
    assert b"api/auth/" not in response.content


def test_a_stored_file_is_not_served_under_media_in_any_mode(client, debug, settings) -> None:
    # given a file where the local backend keeps it
    stored = settings.MEDIA_ROOT / "image" / "someone" / "file.png"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"\x89PNG secret")

    response = client.get("/media/image/someone/file.png")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert b"secret" not in response.content


@pytest.mark.urls("config.tests.urls_api")
def test_a_crash_outside_drf_is_a_json_500_without_the_traceback(debug) -> None:
    response = Client(raise_request_exception=False).get("/plain/boom")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "type": "server_error",
        "errors": [{"code": "error", "detail": "A server error occurred.", "attr": None}],
    }
    assert b"a bug outside DRF" not in response.content
    assert b"SECRET_KEY" not in response.content


def test_a_bad_host_header_is_a_json_400(client, debug) -> None:
    response = client.get("/healthz", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "bad_request"
    assert b"ALLOWED_HOSTS" not in response.content


def test_static_files_are_served_without_debug(client, settings) -> None:
    settings.DEBUG = False

    response = client.get("/static/admin/css/base.css")

    assert response.status_code == 200
    assert b"".join(response.streaming_content)


EMBEDDED_PROBE = """
import json, os
import django
django.setup()
from django.conf import settings
from django.test import Client

stored = settings.MEDIA_ROOT / "image" / "u" / "f.png"
stored.parent.mkdir(parents=True)
stored.write_bytes(b"secret-bytes")
client = Client(raise_request_exception=False)
media = client.get("/media/image/u/f.png", HTTP_HOST="127.0.0.1")
unknown = client.get("/api/nope", HTTP_HOST="127.0.0.1")
print(json.dumps({
    "debug": settings.DEBUG,
    "media": [media.status_code, media["Content-Type"], b"secret" in b"".join(
        getattr(media, "streaming_content", [media.content]))],
    "unknown": [unknown.status_code, unknown["Content-Type"]],
}))
"""


@pytest.mark.parametrize(("env", "debug"), [({}, False), ({"DJANGO_DEBUG": "true"}, True)])
def test_the_embedded_mode_serves_no_unsigned_media_and_json_404s(tmp_path, env, debug) -> None:
    # The URL configuration is read once, at start: a fresh process per mode.
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run(
        [sys.executable, "-c", EMBEDDED_PROBE],
        cwd=Path(__file__).resolve().parents[2],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "VAR_DIR": str(tmp_path / "var"),
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {
        "debug": debug,
        "media": [404, "application/json", False],
        "unknown": [404, "application/json"],
    }
