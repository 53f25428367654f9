"""POST /api/auth/email/resend: a new verification link for the signed-in user."""

from __future__ import annotations

import re
import socket
from urllib.parse import unquote

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from accounts.models import User
from accounts.tests.conftest import bearer
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "amber-canyon-61-owls"


def _unverified(email: str = "u@example.com") -> User:
    user = UserFactory(email=email)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    return user


def test_resend_mails_a_new_link_that_verifies_the_address(api_client) -> None:
    user = _unverified()
    bearer(api_client, user)

    response = api_client.post("/api/auth/email/resend")

    assert response.status_code == 202
    assert [m.to for m in mail.outbox] == [["u@example.com"]]
    key = unquote(re.search(r"verify-email\?key=(\S+)", mail.outbox[0].body).group(1))
    assert api_client.post("/api/auth/email/verify", {"key": key}).status_code == 204
    assert EmailAddress.objects.get(user=user).verified is True


def test_resend_right_after_sign_up_is_throttled_and_sends_nothing_more(api_client) -> None:
    access = api_client.post(
        "/api/auth/register", {"email": "new@example.com", "password": PASSWORD}
    ).json()["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    response = api_client.post("/api/auth/email/resend")

    assert response.status_code == 429
    assert response.json()["errors"][0]["code"] == "throttled"
    assert int(response["Retry-After"]) == 180  # allauth's cooldown per address
    assert len(mail.outbox) == 1  # the sign-up mail only


def test_a_verified_address_is_409_and_gets_no_mail(api_client) -> None:
    user = UserFactory(email="v@example.com")
    EmailAddress.objects.create(user=user, email="v@example.com", primary=True, verified=True)
    bearer(api_client, user)

    response = api_client.post("/api/auth/email/resend")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "no_email_to_verify"
    assert mail.outbox == []


def test_an_account_without_email_is_409(api_client) -> None:
    bearer(api_client, UserFactory(email=None))

    response = api_client.post("/api/auth/email/resend")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "no_email_to_verify"


def test_a_mail_server_that_is_down_is_503_not_a_silent_202(api_client, settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port
    settings.EMAIL_TIMEOUT = 2
    bearer(api_client, _unverified())
    api_client.raise_request_exception = False

    response = api_client.post("/api/auth/email/resend")

    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "email_not_sent"


def test_resends_are_limited_per_user_even_without_allauths_cooldown(
    api_client, settings, monkeypatch
) -> None:
    settings.ACCOUNT_EMAIL_CONFIRMATION_COOLDOWN = 0
    monkeypatch.setitem(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "email_resend", "2/hour")
    bearer(api_client, _unverified())

    statuses = [api_client.post("/api/auth/email/resend").status_code for _ in range(3)]

    assert statuses == [202, 202, 429]
    assert len(mail.outbox) == 2


def test_resend_needs_a_signed_in_user(api_client) -> None:
    response = api_client.post("/api/auth/email/resend")

    assert response.status_code == 401
    assert mail.outbox == []
