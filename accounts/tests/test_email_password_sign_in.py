from __future__ import annotations

import jwt
import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail

from accounts.models import User
from accounts.tests.conftest import bearer
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "violet-harbour-42-kites"


def test_register_creates_user_returns_tokens_and_sends_verification_email(
    api_client, hook_calls
) -> None:
    # Given no account for this address
    # When someone registers
    response = api_client.post(
        "/api/auth/register",
        {"email": "Ada@Example.COM", "password": PASSWORD, "display_name": "Ada"},
        REMOTE_ADDR="8.8.8.8",
    )

    # Then the account exists, unverified, with tokens and the contract's user
    assert response.status_code == 201
    user = User.objects.get()
    body = response.json()
    assert set(body) == {"access", "refresh", "user"}
    assert body["user"] == {
        "id": str(user.id),
        "email": "ada@example.com",
        "display_name": "Ada",
        "avatar_url": None,
        "region": "global",
        "locale": "en",
        "email_verified": False,
        "date_joined": body["user"]["date_joined"],
        "providers": [],
    }
    assert user.check_password(PASSWORD)
    assert user.password.startswith("md5$")  # test hasher; production uses Argon2
    assert (
        EmailAddress.objects.filter(user=user, email="ada@example.com", verified=False).count() == 1
    )
    assert hook_calls["signup"] == [user]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]
    assert "verify-email?key=" in mail.outbox[0].body
    claims = jwt.decode(body["access"], settings.SIMPLE_JWT["SIGNING_KEY"], algorithms=["HS256"])
    assert claims["region"] == "global"
    assert claims["user_id"] == str(user.id)


def test_argon2_is_the_production_hasher() -> None:
    from config.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_register_with_taken_email_is_refused_and_creates_nothing(api_client, hook_calls) -> None:
    UserFactory(email="ada@example.com")

    response = api_client.post(
        "/api/auth/register", {"email": "ADA@example.com", "password": PASSWORD}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "email_taken"
    assert response.json()["errors"][0]["attr"] == "email"
    assert User.objects.count() == 1
    assert hook_calls["signup"] == []
    # The owner is told instead (one email either way: the answers cost the same).
    [notice] = mail.outbox
    assert notice.to == ["ada@example.com"]
    assert "already exists" in notice.body
    assert "verify-email?key=" not in notice.body


def test_register_with_weak_password_is_refused_by_django_validators(api_client) -> None:
    response = api_client.post(
        "/api/auth/register", {"email": "ada@example.com", "password": "12345678"}
    )

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "invalid_password"
    assert error["attr"] == "password"
    assert "too common" in error["detail"]
    assert not User.objects.exists()


def test_register_with_malformed_body_is_a_validation_error_not_a_500(api_client) -> None:
    response = api_client.post("/api/auth/register", {"email": "not-an-email"})

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert {e["attr"] for e in response.json()["errors"]} == {"email", "password"}


def test_login_with_correct_password_returns_tokens_and_user(api_client) -> None:
    user = UserFactory(email="ada@example.com", password=PASSWORD)

    response = api_client.post(
        "/api/auth/login", {"email": "ADA@example.com", "password": PASSWORD}
    )

    assert response.status_code == 200
    assert response.json()["user"]["id"] == str(user.id)
    user.refresh_from_db()
    assert user.last_login is not None


@pytest.mark.parametrize(
    ("email", "password"),
    [("ada@example.com", "wrong-password"), ("nobody@example.com", PASSWORD)],
)
def test_login_with_wrong_credentials_is_invalid_credentials(api_client, email, password) -> None:
    UserFactory(email="ada@example.com", password=PASSWORD)

    response = api_client.post("/api/auth/login", {"email": email, "password": password})

    assert response.status_code == 400
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "invalid_credentials",
                "detail": "Unable to sign in with the given email and password.",
                "attr": None,
            }
        ],
    }
    assert "access" not in response.json()


def test_login_of_disabled_user_is_refused(api_client) -> None:
    UserFactory(email="ada@example.com", password=PASSWORD, is_active=False)

    response = api_client.post(
        "/api/auth/login", {"email": "ada@example.com", "password": PASSWORD}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_credentials"


def test_me_needs_a_token_and_returns_the_user(api_client) -> None:
    user = UserFactory(email="ada@example.com", password=PASSWORD)
    assert api_client.get("/api/auth/me").status_code == 401

    tokens = api_client.post(
        "/api/auth/login", {"email": "ada@example.com", "password": PASSWORD}
    ).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    response = api_client.get("/api/auth/me")

    assert response.status_code == 200
    assert response.json()["id"] == str(user.id)
    assert response.json()["email"] == "ada@example.com"


def test_profile_get_and_put_change_only_the_given_fields(api_client) -> None:
    user = UserFactory(email="ada@example.com", display_name="Ada", locale="en")
    bearer(api_client, user)

    response = api_client.put("/api/users/profile", {"display_name": "Ada L.", "locale": "zh-Hans"})

    assert response.status_code == 200
    assert response.json()["display_name"] == "Ada L."
    assert response.json()["locale"] == "zh-Hans"
    assert response.json()["email"] == "ada@example.com"
    user.refresh_from_db()
    assert (user.display_name, user.locale, user.avatar_url) == ("Ada L.", "zh-Hans", "")
    assert api_client.get("/api/users/profile").json() == response.json()


def test_an_avatar_is_set_and_removed_with_null_or_empty(api_client) -> None:
    user = UserFactory()
    bearer(api_client, user)

    set_ = api_client.put("/api/users/profile", {"avatar_url": "https://example.com/me.png"})
    cleared = api_client.put("/api/users/profile", {"avatar_url": None})
    api_client.put("/api/users/profile", {"avatar_url": "https://example.com/me.png"})
    emptied = api_client.put("/api/users/profile", {"avatar_url": ""})

    assert set_.json()["avatar_url"] == "https://example.com/me.png"
    assert cleared.status_code == emptied.status_code == 200
    assert cleared.json()["avatar_url"] is None
    assert emptied.json()["avatar_url"] is None
    user.refresh_from_db()
    assert user.avatar_url == ""


def test_profile_put_rejects_a_bad_avatar_url_and_changes_nothing(api_client) -> None:
    user = UserFactory(display_name="Ada")
    bearer(api_client, user)

    response = api_client.put(
        "/api/users/profile", {"display_name": "Eve", "avatar_url": "javascript:alert(1)"}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "avatar_url"
    user.refresh_from_db()
    assert user.display_name == "Ada"
