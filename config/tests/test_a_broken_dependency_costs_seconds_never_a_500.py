"""The platform as deployed (gunicorn, two sync workers, production settings) with a
MariaDB and a Redis of its own that the tests kill (SIGKILL) or freeze (SIGSTOP):
every answer comes in seconds, none is a 500, no web worker is held until gunicorn
kills it, and the login limit counts only real failed sign-ins."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from storage.tests.media import make_image, make_video

# The web process's own bounds (production's defaults are longer, see .env.example):
# short here so a frozen database costs the test seconds, not tens of them.
READ_TIMEOUT = 3


@pytest.fixture(scope="module")
def stack(web_process):
    web, redis_server, mariadb = web_process
    return web, redis_server, mariadb


@pytest.fixture(scope="module", autouse=True)
def _short_database_timeouts(web_process):
    web, _redis, _db = web_process
    web.stop()
    web.env["DATABASE_READ_TIMEOUT"] = str(READ_TIMEOUT)
    web.env["DATABASE_WRITE_TIMEOUT"] = str(READ_TIMEOUT)
    web.env["DATABASE_CONNECT_TIMEOUT"] = "2"
    # The per-account request rate is not under test: room for the sign-in attempts.
    web.env["THROTTLE_AUTH_ACCOUNT"] = "100/min"
    web.start()


def _register(web) -> tuple[str, str, str]:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    password = "granite-willow-36-sky"
    response = httpx.post(
        f"{web.url}/api/auth/register", json={"email": email, "password": password}, timeout=30
    )
    assert response.status_code == 201, response.text
    return email, password, response.json()["access"]


def _timed(method: str, url: str, **kwargs) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.request(method, url, timeout=60, **kwargs)
    return response, time.monotonic() - started


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["errors"][0]["code"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) > 0


def test_signed_in_calls_work_while_redis_is_down(stack) -> None:
    # Given a signed-in user with an image and a video uploaded
    web, redis_server, _db = stack
    email, password, access = _register(web)
    bearer = {"Authorization": f"Bearer {access}"}
    # When Redis (cache, throttles, rate limits and broker) is killed
    with redis_server.down():
        answers = [
            _timed("GET", f"{web.url}/api/auth/me", headers=bearer)[0],
            _timed("GET", f"{web.url}/api/users/credits", headers=bearer)[0],
            _timed("GET", f"{web.url}/api/tasks/user/tasks", headers=bearer)[0],
            _timed(
                "POST", f"{web.url}/api/auth/login", json={"email": email, "password": password}
            )[0],
        ]
        image, _ = _timed(
            "POST",
            f"{web.url}/api/videos/upload",
            headers=bearer,
            files={"file": ("me.png", make_image(400, 600, "PNG"), "image/png")},
            data={"kind": "image"},
        )
        video, _ = _timed(
            "POST",
            f"{web.url}/api/videos/upload",
            headers=bearer,
            files={"file": ("ref.mp4", make_video(2.5, 320, 240, 5), "video/mp4")},
            data={"kind": "video"},
        )
        # Then every call answers as it would with Redis up (throttles fail open)
        assert [r.status_code for r in answers] == [200, 200, 200, 200], [r.text for r in answers]
        assert image.status_code == 201, image.text
        assert video.status_code == 201, video.text
    # And each process said so once in its log, not once per request
    lines = [line for line in web.log_lines() if '"redis_unavailable"' in line]
    assert 1 <= len(lines) <= 2


def test_readyz_answers_503_within_seconds_while_redis_is_frozen(stack) -> None:
    # Given the platform ready
    web, redis_server, _db = stack
    assert httpx.get(f"{web.url}/readyz", timeout=10).status_code == 200
    workers = web.worker_pids()
    # When Redis, the cache and the broker, is frozen
    with redis_server.frozen():
        response, elapsed = _timed("GET", f"{web.url}/readyz")
    # Then /readyz said so in seconds (it blocked about two minutes on the broker)
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["primary"]["ok"] is True
    assert checks["redis"]["ok"] is False
    assert checks["broker"]["ok"] is False
    assert elapsed < 5
    # And no worker was lost to gunicorn's timeout
    assert web.worker_pids() == workers


def test_probes_answer_within_seconds_while_the_database_is_frozen(stack) -> None:
    web, _redis, mariadb = stack
    assert httpx.get(f"{web.url}/readyz", timeout=10).status_code == 200
    workers = web.worker_pids()
    with mariadb.frozen():
        response, elapsed = _timed("GET", f"{web.url}/readyz")
        # and Prometheus's scrape, which reads gauges from the database, answers in
        # time too (without those gauges), so the web does not look down itself
        scrape, scrape_elapsed = _timed("GET", f"{web.url}/metrics")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["primary"]["ok"] is False
    assert checks["redis"]["ok"] is True
    assert elapsed < 5
    assert scrape.status_code == 200
    assert "animations_queue_depth{" not in scrape.text
    assert scrape_elapsed < 5
    assert web.worker_pids() == workers
    # And once it is back the gauges are read again
    assert "animations_queue_depth{" in httpx.get(f"{web.url}/metrics", timeout=10).text


def test_a_frozen_database_costs_an_api_call_seconds_not_a_worker(stack) -> None:
    # Given a signed-in user whose call works
    web, _redis, mariadb = stack
    _email, _password, access = _register(web)
    bearer = {"Authorization": f"Bearer {access}"}
    assert httpx.get(f"{web.url}/api/auth/me", headers=bearer, timeout=10).status_code == 200
    workers = web.worker_pids()
    # When the database freezes under it
    with mariadb.frozen():
        response, elapsed = _timed("GET", f"{web.url}/api/auth/me", headers=bearer)
    # Then the call is a 503 with Retry-After within the read timeout (plus a
    # reconnect), not a reset after gunicorn killed the worker (61.8 s before)
    _assert_unavailable(response)
    assert elapsed < 2 * READ_TIMEOUT + 3
    assert web.worker_pids() == workers
    # And once the database is back, so is the API
    assert httpx.get(f"{web.url}/api/auth/me", headers=bearer, timeout=10).status_code == 200


def test_sign_ins_that_failed_because_the_database_was_down_lock_no_one_out(stack) -> None:
    # Given an account (the limit: 5 failed sign-ins in 5 minutes per account)
    web, _redis, mariadb = stack
    email, password, _access = _register(web)
    credentials = {"email": email, "password": password}
    # When the database is down for six sign-in attempts
    with mariadb.down():
        attempts = [_timed("POST", f"{web.url}/api/auth/login", json=credentials)[0]]
        attempts += [
            _timed("POST", f"{web.url}/api/auth/login", json=credentials)[0] for _ in range(5)
        ]
    # Then each was a 503, not a wrong password and not a lock-out
    for response in attempts:
        _assert_unavailable(response)
    # And once it is back the right password signs in at once (429 for minutes before)
    response, _ = _timed("POST", f"{web.url}/api/auth/login", json=credentials)
    assert response.status_code == 200, response.text
    # While real failures still count: five wrong passwords, then locked
    wrong = {"email": email, "password": "not-the-password-1"}
    codes = [
        _timed("POST", f"{web.url}/api/auth/login", json=wrong)[0].status_code for _ in range(6)
    ]
    assert codes == [400, 400, 400, 400, 400, 429]
