from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tokens import issue_tokens

pytestmark = pytest.mark.django_db

PASSWORD = "amber-canyon-61-owls"
NEW_PASSWORD = "silver-orchard-29-bees"


def _key_from(body: str, path: str) -> str:
    match = re.search(rf"{path}\?key=(\S+)", body)
    assert match, body
    from urllib.parse import unquote

    return unquote(match.group(1))


def test_verification_key_from_the_email_verifies_the_address(api_client) -> None:
    api_client.post("/api/auth/register", {"email": "v@example.com", "password": PASSWORD})
    key = _key_from(mail.outbox[0].body, "verify-email")
    assert mail.outbox[0].subject == "[Animate] Confirm your email address"

    response = api_client.post("/api/auth/email/verify", {"key": key})

    assert response.status_code == 204
    access = api_client.post(
        "/api/auth/login", {"email": "v@example.com", "password": PASSWORD}
    ).json()["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api_client.get("/api/auth/me").json()["email_verified"] is True


def test_a_forged_verification_key_is_400_and_verifies_nothing(api_client) -> None:
    api_client.post("/api/auth/register", {"email": "v@example.com", "password": PASSWORD})
    key = _key_from(mail.outbox[0].body, "verify-email")

    response = api_client.post("/api/auth/email/verify", {"key": key[:-2] + "xx"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_key"
    assert User.objects.get().emailaddress_set.get().verified is False


def test_password_reset_answers_202_for_unknown_addresses_and_sends_nothing(api_client) -> None:
    response = api_client.post("/api/auth/password/reset", {"email": "nobody@example.com"})

    assert response.status_code == 202
    assert mail.outbox == []


def test_password_reset_key_sets_a_new_password_once_and_signs_out_everywhere(api_client) -> None:
    user = UserFactory(email="r@example.com", password=PASSWORD)
    old = issue_tokens(user, method="password")

    assert (
        api_client.post("/api/auth/password/reset", {"email": "r@example.com"}).status_code == 202
    )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["r@example.com"]
    key = _key_from(mail.outbox[0].body, "reset-password")

    response = api_client.post(
        "/api/auth/password/reset/confirm", {"key": key, "password": NEW_PASSWORD}
    )

    assert response.status_code == 204
    assert (
        api_client.post(
            "/api/auth/login", {"email": "r@example.com", "password": NEW_PASSWORD}
        ).status_code
        == 200
    )
    assert (
        api_client.post(
            "/api/auth/login", {"email": "r@example.com", "password": PASSWORD}
        ).status_code
        == 400
    )
    assert api_client.post("/api/auth/refresh", {"refresh": old["refresh"]}).status_code == 401
    # The key was bound to the old password: it does not work twice.
    again = api_client.post(
        "/api/auth/password/reset/confirm", {"key": key, "password": "another-one-88-x"}
    )
    assert again.status_code == 400
    assert again.json()["errors"][0]["code"] == "invalid_key"


def test_password_reset_with_a_weak_password_keeps_the_old_one(api_client) -> None:
    UserFactory(email="r@example.com", password=PASSWORD)
    api_client.post("/api/auth/password/reset", {"email": "r@example.com"})
    key = _key_from(mail.outbox[0].body, "reset-password")

    response = api_client.post(
        "/api/auth/password/reset/confirm", {"key": key, "password": "password"}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_password"
    assert User.objects.get().check_password(PASSWORD)


@pytest.mark.parametrize("key", ["", "garbage", "zz-zzzz", "1-abc-def"])
def test_bad_reset_keys_are_400(api_client, key) -> None:
    response = api_client.post(
        "/api/auth/password/reset/confirm", {"key": key, "password": NEW_PASSWORD}
    )

    assert response.status_code == 400
