from __future__ import annotations

import time

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.admin.models import CHANGE, LogEntry
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tests.fakes.wechat import WeChatUser
from accounts.tokens import issue_tokens

pytestmark = pytest.mark.django_db

PASSWORD = "quiet-meadow-17-lamps"


def _register(api_client) -> tuple[User, dict]:
    body = api_client.post(
        "/api/auth/register",
        {"email": "erase@example.com", "password": PASSWORD, "display_name": "Eraser"},
    ).json()
    return User.objects.get(pk=body["user"]["id"]), body


def test_deleted_account_loses_its_data_tokens_and_sign_in(api_client, hook_calls) -> None:
    user, tokens = _register(api_client)
    other_device = issue_tokens(user, method="password")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    response = api_client.delete("/api/users/account", {"password": PASSWORD})

    assert response.status_code == 204
    user.refresh_from_db()
    assert user.email is None
    assert user.display_name == ""
    assert user.avatar_url == ""
    assert user.is_active is False
    assert user.erased_at is not None
    assert not user.has_usable_password()
    assert not EmailAddress.objects.filter(user=user).exists()
    assert not EmailAddress.objects.filter(email="erase@example.com").exists()
    assert hook_calls["erasure"] == [user]
    # Every token is dead: this device's access token and the other device's refresh token.
    assert api_client.get("/api/auth/me").status_code == 401
    api_client.credentials()
    for refresh in (tokens["refresh"], other_device["refresh"]):
        assert api_client.post("/api/auth/refresh", {"refresh": refresh}).status_code == 401
    # And the password no longer signs in.
    login = api_client.post("/api/auth/login", {"email": "erase@example.com", "password": PASSWORD})
    assert login.status_code == 400
    assert login.json()["errors"][0]["code"] == "invalid_credentials"


def test_wrong_password_erases_nothing(api_client, hook_calls) -> None:
    user, tokens = _register(api_client)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    response = api_client.delete("/api/users/account", {"password": "not-my-password"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_credentials"
    user.refresh_from_db()
    assert user.email == "erase@example.com"
    assert user.is_active is True
    assert user.erased_at is None
    assert hook_calls["erasure"] == []
    assert api_client.get("/api/auth/me").status_code == 200


def test_password_account_without_password_needs_reauthentication(api_client, hook_calls) -> None:
    user, tokens = _register(api_client)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    response = api_client.delete("/api/users/account")

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "reauthentication_required"
    user.refresh_from_db()
    assert user.erased_at is None


def test_wechat_user_erases_with_a_fresh_social_sign_in(api_client, wechat, hook_calls) -> None:
    code = wechat.issue_code(WeChatUser(openid="o-gone", nickname="再见", unionid="u-gone"))
    body = api_client.post("/api/auth/wechat/login", {"code": code}).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")

    response = api_client.delete("/api/users/account")

    assert response.status_code == 204
    user = User.objects.get(pk=body["user"]["id"])
    assert user.erased_at is not None
    assert user.display_name == ""
    assert not SocialAccount.objects.filter(uid="o-gone").exists()
    assert not SocialAccount.objects.filter(user=user).exists()
    # Signing in with the same WeChat account again cannot reach the erased user.
    assert api_client.get("/api/auth/me").status_code == 401
    api_client.credentials()
    again = api_client.post(
        "/api/auth/wechat/login",
        {"code": wechat.issue_code(WeChatUser(openid="o-gone", nickname="再见"))},
    )
    assert again.status_code == 200
    assert again.json()["user"]["id"] != str(user.id)
    assert again.json()["created"] is True


def test_stale_social_sign_in_cannot_erase(api_client, settings) -> None:
    settings.ACCOUNTS_REAUTH_MAX_AGE = 300
    user = UserFactory(email=None)
    user.set_unusable_password()
    user.save()
    refresh = RefreshToken(issue_tokens(user, method="weixin")["refresh"])
    refresh["auth_time"] = int(time.time()) - 3600  # signed in an hour ago, refreshed since
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {refresh.access_token}")

    response = api_client.delete("/api/users/account")

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "reauthentication_required"
    user.refresh_from_db()
    assert user.erased_at is None


def test_erasing_twice_changes_nothing_more(hook_calls) -> None:
    user = UserFactory()
    services.erase_account(user)
    erased_at = User.objects.get(pk=user.pk).erased_at

    services.erase_account(user)

    assert User.objects.get(pk=user.pk).erased_at == erased_at
    assert len(hook_calls["erasure"]) == 1


def test_erasure_removes_the_email_from_the_admin_history(hook_calls) -> None:
    # Given a support edit recorded in the admin history under the user's email
    user = UserFactory(email="history@example.com")
    staff = UserFactory(is_staff=True)
    other = UserFactory(email="kept@example.com")
    for target in (user, other):
        LogEntry.objects.log_actions(
            user_id=staff.pk, queryset=[target], action_flag=CHANGE, change_message="[]"
        )

    services.erase_account(user)

    # Then the entry stays, naming the user by id only; other users' entries are untouched
    assert LogEntry.objects.get(object_id=str(user.pk)).object_repr == str(user.pk)
    assert LogEntry.objects.get(object_id=str(other.pk)).object_repr == "kept@example.com"
