"""Talking to Google and WeChat: turn what the SPA sends into an allauth ``SocialLogin``.

allauth's providers do the mapping (uid, email addresses and whether they are
verified, extra data) and its login flow does the rest (``accounts.services``).
What is ours:

- Endpoint URLs are read from ``SOCIALACCOUNT_PROVIDERS`` at call time (allauth
  reads Google's at import time and hard-codes WeChat's).
- Google's certificates are cached (allauth fetches them on every check) and
  refetched once when a token names an unknown ``kid`` (key rotation). Both
  issuer spellings Google uses are accepted; the audience must be our client id.
- WeChat bodies are decoded as UTF-8 ourselves: requests may guess another
  charset, and allauth's weixin adapter re-decodes nicknames in a way that
  mangles correctly decoded Chinese. WeChat reports errors as HTTP 200 with
  ``errcode``; those become ``WeChatError``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jwt
import requests
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.socialaccount.providers.base import Provider
from allauth.socialaccount.providers.google.views import GoogleOAuth2Adapter
from allauth.socialaccount.providers.oauth2.client import OAuth2Client, OAuth2Error
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import MultipleObjectsReturned
from django.http import HttpRequest

from accounts.errors import (
    InvalidIdToken,
    ProviderNotConfigured,
    ProviderUnavailable,
    SocialLoginFailed,
    WeChatError,
)

GOOGLE = "google"
WECHAT = "weixin"


def _config(provider_id: str) -> dict[str, Any]:
    return settings.SOCIALACCOUNT_PROVIDERS.get(provider_id, {})


def get_provider(request: HttpRequest, provider_id: str) -> Provider:
    """The configured provider with its app, or ``ProviderNotConfigured``."""
    try:
        return get_adapter(request).get_provider(request, provider_id)
    except (SocialApp.DoesNotExist, MultipleObjectsReturned) as exc:
        raise ProviderNotConfigured() from exc


# Google ---------------------------------------------------------------------


def _fetch_google_certs(*, force: bool = False) -> dict[str, str]:
    url = _config(GOOGLE)["CERTS_URL"]
    key = f"accounts:google-certs:{url}"
    if not force:
        cached = cache.get(key)
        if cached:
            return cached
    try:
        with get_adapter().get_requests_session() as session:
            response = session.get(url)
            response.raise_for_status()
            certs = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable() from exc
    match = re.search(r"max-age=(\d+)", response.headers.get("Cache-Control", ""))
    timeout = int(match.group(1)) if match else settings.ACCOUNTS_GOOGLE_CERTS_CACHE_SECONDS
    cache.set(key, certs, timeout=timeout)
    return certs


def decode_google_id_token(app: SocialApp, id_token: str) -> dict[str, Any]:
    """The claims of a Google ID token, after checking signature, issuer, audience, expiry."""
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as exc:
        raise InvalidIdToken() from exc
    # Only Google's algorithm: a token choosing "none" or HS256 is a forgery attempt.
    if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
        raise InvalidIdToken()
    kid = header["kid"]
    public_key = jwtkit.lookup_kid_pem_x509_certificate(_fetch_google_certs(), kid)
    if public_key is None:
        public_key = jwtkit.lookup_kid_pem_x509_certificate(_fetch_google_certs(force=True), kid)
    if public_key is None:
        raise InvalidIdToken()
    try:
        claims = jwt.decode(
            id_token,
            key=public_key,
            algorithms=["RS256"],
            audience=app.client_id,
            issuer=_config(GOOGLE)["ID_TOKEN_ISSUER"],
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
        jwtkit.verify_jti(claims)
    except (jwt.PyJWTError, OAuth2Error) as exc:
        raise InvalidIdToken() from exc
    return claims


class _GoogleAdapter(GoogleOAuth2Adapter):
    @property
    def access_token_url(self) -> str:
        return _config(GOOGLE)["ACCESS_TOKEN_URL"]

    @property
    def identity_url(self) -> str:
        return _config(GOOGLE)["IDENTITY_URL"]

    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict[str, Any]:
        # Verified even though it came straight from Google: the certificates are
        # cached, so this costs nothing and covers a misrouted token endpoint.
        return decode_google_id_token(app, id_token)


def google_login_from_id_token(request: HttpRequest, id_token: str) -> SocialLogin:
    provider = get_provider(request, GOOGLE)
    claims = decode_google_id_token(provider.app, id_token)
    return provider.sociallogin_from_response(request, claims)


def google_login_from_code(
    request: HttpRequest, code: str, *, redirect_uri: str, code_verifier: str | None = None
) -> SocialLogin:
    """Exchange an authorization code server-side (the secret never reaches the SPA)."""
    provider = get_provider(request, GOOGLE)
    app = provider.app
    adapter = _GoogleAdapter(request)
    client = OAuth2Client(
        request,
        app.client_id,
        app.secret,
        "POST",
        adapter.access_token_url,
        redirect_uri,
        scope_delimiter=adapter.scope_delimiter,
    )
    try:
        data = client.get_access_token(code, pkce_code_verifier=code_verifier)
        adapter.did_fetch_access_token = True
        token = adapter.parse_token(data)
        token.app = app
        login = adapter.complete_login(request, app, token, response=data)
    except OAuth2Error as exc:
        raise SocialLoginFailed() from exc
    except requests.RequestException as exc:
        raise ProviderUnavailable() from exc
    login.token = token
    return login


# WeChat ---------------------------------------------------------------------


def _wechat_get(url: str, params: dict[str, str]) -> dict[str, Any]:
    try:
        with get_adapter().get_requests_session() as session:
            response = session.get(url, params=params)
    except requests.RequestException as exc:
        raise ProviderUnavailable() from exc
    if response.status_code >= 500:
        raise ProviderUnavailable()
    try:
        data = json.loads(response.content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SocialLoginFailed() from exc
    if not isinstance(data, dict):
        raise SocialLoginFailed()
    if data.get("errcode"):
        raise WeChatError(
            f"WeChat error {data['errcode']}: {data.get('errmsg', '')}".strip(),
            errcode=data["errcode"],
        )
    return data


def wechat_login_from_code(request: HttpRequest, code: str) -> SocialLogin:
    """code → access_token + openid (+ unionid) → user info → ``SocialLogin`` keyed by openid."""
    provider = get_provider(request, WECHAT)
    app = provider.app
    config = _config(WECHAT)
    token = _wechat_get(
        config["ACCESS_TOKEN_URL"],
        {
            "appid": app.client_id,
            "secret": app.secret,
            "code": code,
            "grant_type": "authorization_code",
        },
    )
    access_token, openid = token.get("access_token"), token.get("openid")
    if not access_token or not openid:
        raise SocialLoginFailed()
    info = _wechat_get(
        config["PROFILE_URL"], {"access_token": access_token, "openid": openid, "lang": "zh_CN"}
    )
    info.setdefault("openid", openid)
    if token.get("unionid"):
        info.setdefault("unionid", token["unionid"])
    if info["openid"] != openid:
        raise SocialLoginFailed()
    return provider.sociallogin_from_response(request, info)
