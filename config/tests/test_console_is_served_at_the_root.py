"""The web console's build is served at / and every console route falls back to
index.html; the API, the admin, the docs and the probes are untouched."""

from __future__ import annotations

import os

import pytest

from config.middleware import StaticFilesMiddleware

pytestmark = pytest.mark.django_db

INDEX = b"<!doctype html><title>Animate</title><div id=root></div>"


@pytest.fixture
def built(settings, tmp_path):
    (tmp_path / "index.html").write_bytes(INDEX)
    settings.CONSOLE_DIST_DIR = tmp_path
    return tmp_path


@pytest.mark.parametrize(
    "path", ["/", "/tasks", "/tasks/6f1c1e0e-1111-4222-8333-944445555666", "/verify-email?key=a:b"]
)
def test_console_routes_answer_index_html_uncached(client, built, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response.content == INDEX
    assert response["Cache-Control"] == "no-cache"


def test_a_new_build_is_served_without_a_restart(client, built):
    client.get("/")
    (built / "index.html").write_bytes(b"<!doctype html><title>v2</title>")
    os.utime(built / "index.html", (1, 2))

    assert client.get("/credits").content == b"<!doctype html><title>v2</title>"


@pytest.mark.parametrize(
    "path", ["/api/nope", "/api/tasks/nope", "/media/x.png", "/assets/gone.js"]
)
def test_api_and_file_paths_are_never_the_console(client, built, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_admin_docs_and_probes_are_untouched(client, built):
    assert client.get("/admin/").status_code == 302  # the admin's own login
    assert b"swagger" in client.get("/docs").content.lower()
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/api/schema").status_code == 200


def test_without_a_build_the_root_says_how_to_build_it(client, settings, tmp_path):
    settings.CONSOLE_DIST_DIR = tmp_path / "missing"

    response = client.get("/")

    assert response.status_code == 503
    assert b"npm run build" in response.content


def test_the_console_routes_only_answer_reads(client, built):
    assert client.post("/tasks").status_code == 405


@pytest.mark.parametrize(
    ("url", "immutable"),
    [
        ("/assets/index-Cs8K2gek.js", True),
        ("/assets/index-Cs8K2gek.css", True),
        ("/index.html", False),
        ("/favicon.svg", False),
        ("/assets/plain.js", False),
    ],
)
def test_hashed_console_assets_are_cached_forever(url, immutable):
    middleware = StaticFilesMiddleware(lambda request: None)

    assert middleware.immutable_file_test("", url) is immutable
