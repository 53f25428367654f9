"""Fixtures of the accounts tests: loopback Google and WeChat, signed-in clients."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from allauth.socialaccount.models import SocialApp
from django.contrib.sites.models import Site
from rest_framework.test import APIClient

from accounts import hooks
from accounts.models import User
from accounts.tests.fakes.google import FakeGoogle
from accounts.tests.fakes.wechat import FakeWeChat
from accounts.tokens import issue_tokens

GOOGLE_CLIENT_ID = "1234-test.apps.googleusercontent.com"
WECHAT_APP_ID = "wx0123456789abcdef"


@pytest.fixture(scope="session")
def _google_server() -> Iterator[FakeGoogle]:
    server = FakeGoogle(client_id=GOOGLE_CLIENT_ID, client_secret="google-test-secret").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _wechat_server() -> Iterator[FakeWeChat]:
    server = FakeWeChat(app_id=WECHAT_APP_ID, app_secret="wechat-test-secret").start()
    yield server
    server.stop()


def _provider_settings(settings, provider: str, **urls: str) -> None:
    providers = copy.deepcopy(settings.SOCIALACCOUNT_PROVIDERS)
    providers[provider].update(urls)
    settings.SOCIALACCOUNT_PROVIDERS = providers


def _admin_app(provider: str, *, client_id: str, secret: str) -> SocialApp:
    """The provider's app as support staff would enter it in the admin."""
    app = SocialApp.objects.create(
        provider=provider, name=provider, client_id=client_id, secret=secret
    )
    app.sites.add(Site.objects.get_current())
    return app


@pytest.fixture
def google(_google_server: FakeGoogle, settings, db) -> FakeGoogle:
    """Google configured as an admin-edited SocialApp, its endpoints on loopback."""
    _provider_settings(
        settings,
        "google",
        CERTS_URL=_google_server.certs_url,
        ACCESS_TOKEN_URL=_google_server.token_url,
        IDENTITY_URL=_google_server.userinfo_url,
    )
    _admin_app("google", client_id=GOOGLE_CLIENT_ID, secret="google-test-secret")
    _google_server.seen.clear()
    _google_server.codes.clear()
    _google_server.include_id_token = True
    return _google_server


@pytest.fixture
def wechat(_wechat_server: FakeWeChat, settings, db) -> FakeWeChat:
    _provider_settings(
        settings,
        "weixin",
        ACCESS_TOKEN_URL=_wechat_server.token_url,
        PROFILE_URL=_wechat_server.userinfo_url,
    )
    _admin_app("weixin", client_id=WECHAT_APP_ID, secret="wechat-test-secret")
    _wechat_server.seen.clear()
    _wechat_server.codes.clear()
    _wechat_server.userinfo_error = None
    return _wechat_server


def bearer(client: APIClient, user: User, *, method: str = "password") -> dict[str, str]:
    tokens = issue_tokens(user, method=method)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return dict(tokens)


@pytest.fixture
def hook_calls() -> Iterator[dict[str, list[User]]]:
    """Records what the sign-up and erasure hooks were called with."""
    calls: dict[str, list[User]] = {"signup": [], "erasure": []}
    hooks.on_signup("accounts-test")(calls["signup"].append)
    hooks.on_erasure("accounts-test")(calls["erasure"].append)
    yield calls
    hooks.unregister("accounts-test")
