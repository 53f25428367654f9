"""Emails and error details are written in the user's language: the account's
``locale`` when signed in, else the request's Accept-Language; a new account
starts with the language it signed up in. Email links open the console's own
routes on SITE_URL."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tokens import issue_tokens
from storage.tests.media import make_image

pytestmark = pytest.mark.django_db

PASSWORD = "amber-canyon-61-owls"


def _signed_in(api_client, user: User):
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user, method='password')['access']}"
    )
    return api_client


def test_signing_up_in_chinese_stores_the_locale_and_sends_a_chinese_email(api_client) -> None:
    response = api_client.post(
        "/api/auth/register",
        {"email": "zh@example.com", "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="zh-Hans",
    )

    assert response.status_code == 201
    assert response.json()["user"]["locale"] == "zh-Hans"
    assert User.objects.get().locale == "zh-Hans"
    [message] = mail.outbox
    assert message.subject == "[Animate] 请确认你的邮箱地址"
    assert message.body.startswith("你好：")
    assert "请打开下面的链接，确认 zh@example.com 是你的邮箱地址：" in message.body


def test_the_verification_link_opens_the_console_route_on_site_url(api_client, settings) -> None:
    api_client.post("/api/auth/register", {"email": "en@example.com", "password": PASSWORD})

    [message] = mail.outbox
    assert message.subject == "[Animate] Confirm your email address"
    assert f"{settings.SITE_URL}/verify-email?key=" in message.body
    assert User.objects.get().locale == "en"


def test_a_browser_saying_zh_cn_gets_simplified_chinese(api_client) -> None:
    api_client.post(
        "/api/auth/register",
        {"email": "cn@example.com", "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5",
    )

    assert User.objects.get().locale == "zh-Hans"
    assert "请确认你的邮箱地址" in mail.outbox[0].subject


def test_the_reset_email_follows_the_account_not_the_requester(api_client) -> None:
    UserFactory(email="r@example.com", password=PASSWORD, locale="zh-Hans")

    api_client.post(
        "/api/auth/password/reset", {"email": "r@example.com"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    [message] = mail.outbox
    assert message.subject == "[Animate] 重置密码"
    assert "有人请求重置你的 Animate 账户密码。" in message.body
    assert "/reset-password?key=" in message.body


def test_anonymous_errors_follow_accept_language(api_client) -> None:
    body = {"email": "nobody@example.com", "password": "wrong-password-1"}

    chinese = api_client.post("/api/auth/login", body, HTTP_ACCEPT_LANGUAGE="zh-Hans").json()
    english = api_client.post("/api/auth/login", body, HTTP_ACCEPT_LANGUAGE="en").json()

    assert chinese["errors"][0]["code"] == english["errors"][0]["code"] == "invalid_credentials"
    assert chinese["errors"][0]["detail"] == "邮箱或密码不正确，无法登录。"
    assert english["errors"][0]["detail"] == "Unable to sign in with the given email and password."


def test_a_signed_in_users_errors_follow_their_locale(api_client) -> None:
    user = UserFactory(email="u@example.com", password=PASSWORD, locale="zh-Hans")
    client = _signed_in(api_client, user)

    response = client.delete(
        "/api/users/account", {"password": "not-it"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "code": "invalid_credentials",
        "detail": "密码不正确。",
        "attr": "password",
    }
    user.refresh_from_db()
    assert user.is_active and user.erased_at is None


def test_upload_errors_name_the_numbers_in_the_users_language(api_client) -> None:
    user = UserFactory(email="u@example.com", password=PASSWORD, locale="zh-Hans")
    client = _signed_in(api_client, user)
    small = SimpleUploadedFile("small.png", make_image(120, 150, "PNG"), "image/png")

    response = client.post(
        "/api/videos/upload", {"file": small, "kind": "image"}, format="multipart"
    )

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "image_too_small"
    assert error["detail"] == "图片为 120x150 像素；每边至少需要 200 像素。"


def test_an_english_user_reads_english_whatever_the_browser_says(api_client) -> None:
    user = UserFactory(email="u@example.com", password=PASSWORD, locale="en")
    client = _signed_in(api_client, user)

    response = client.delete(
        "/api/users/account", {"password": "not-it"}, HTTP_ACCEPT_LANGUAGE="zh-Hans"
    )

    assert response.json()["errors"][0]["detail"] == "The password is incorrect."
