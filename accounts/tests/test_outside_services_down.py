"""When Google, WeChat or the mail server cannot be reached: clean answers, no 500."""

from __future__ import annotations

import copy
import socket

import pytest

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tests.fakes.wechat import WeChatUser

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _point(settings, provider: str, **urls: str) -> None:
    providers = copy.deepcopy(settings.SOCIALACCOUNT_PROVIDERS)
    providers[provider].update(urls)
    settings.SOCIALACCOUNT_PROVIDERS = providers


def test_google_certificates_unreachable_is_503(api_client, google, settings, closed_port) -> None:
    _point(settings, "google", CERTS_URL=f"http://127.0.0.1:{closed_port}/certs")
    api_client.raise_request_exception = False
    token = google.id_token(google.claims(sub="g-1", email="a@example.com"))

    response = api_client.post("/api/auth/google/login", {"id_token": token})

    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "provider_unavailable"
    assert not User.objects.exists()


def test_wechat_unreachable_is_503(api_client, wechat, settings, closed_port) -> None:
    _point(
        settings,
        "weixin",
        ACCESS_TOKEN_URL=f"http://127.0.0.1:{closed_port}/sns/oauth2/access_token",
    )
    api_client.raise_request_exception = False
    code = wechat.issue_code(WeChatUser(openid="o-1", nickname="甲"))

    response = api_client.post("/api/auth/wechat/login", {"code": code})

    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "provider_unavailable"
    assert not User.objects.exists()


def test_registration_succeeds_when_the_mail_server_is_down(
    api_client, settings, closed_port
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port
    settings.EMAIL_TIMEOUT = 2

    response = api_client.post(
        "/api/auth/register", {"email": "m@example.com", "password": "granite-willow-36-sky"}
    )

    assert response.status_code == 201
    assert User.objects.filter(email="m@example.com").exists()


def test_password_reset_answers_202_when_the_mail_server_is_down(
    api_client, settings, closed_port
) -> None:
    # Given an account, and a mail server that refuses connections
    UserFactory(email="known@example.com")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port
    settings.EMAIL_TIMEOUT = 2

    # When a reset is asked for it, and for an unknown address
    known = api_client.post("/api/auth/password/reset", {"email": "known@example.com"})
    unknown = api_client.post("/api/auth/password/reset", {"email": "nobody@example.com"})

    # Then both answer the same 202: no 500, and nothing tells the two apart
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
