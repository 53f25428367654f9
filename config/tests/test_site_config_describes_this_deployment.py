"""GET /api/config: public, and it says what this deployment offers."""

from __future__ import annotations

import copy

import pytest

from billing.tests.factories import CreditPackageFactory

pytestmark = pytest.mark.django_db


def test_the_embedded_defaults_offer_passwords_and_no_provider(api_client) -> None:
    response = api_client.get("/api/config")

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=300"
    body = response.json()
    assert body["region"] == "global"
    assert body["sign_in"] == {"password": True, "google": None, "wechat": None}
    assert body["payments"] == {"stripe": None, "wechat": None}
    assert body["signup_bonus"] == 100
    assert body["modes"] == [
        {"type": "move", "mode": "wan-std", "credits_per_second": 4.0},
        {"type": "move", "mode": "wan-pro", "credits_per_second": 6.0},
        {"type": "mix", "mode": "wan-std", "credits_per_second": 6.0},
        {"type": "mix", "mode": "wan-pro", "credits_per_second": 9.0},
    ]
    assert body["limits"] == {
        "image": {
            "content_types": ["image/bmp", "image/jpeg", "image/png", "image/webp"],
            "max_bytes": 5 * 1024 * 1024,
            "min_side": 200,
            "max_side": 4096,
            "max_aspect_ratio": 3.0,
        },
        "video": {
            "content_types": ["video/mp4", "video/quicktime", "video/x-msvideo"],
            "max_bytes": 200 * 1024 * 1024,
            "min_side": 200,
            "max_side": 2048,
            "min_seconds": 2.0,
            "max_seconds": 30.0,
            "max_aspect_ratio": 3.0,
        },
    }


def test_configured_providers_are_offered_with_their_public_ids(api_client, settings) -> None:
    providers = copy.deepcopy(settings.SOCIALACCOUNT_PROVIDERS)
    providers["google"]["APPS"] = [{"client_id": "g-123.apps", "secret": "s"}]
    providers["weixin"]["APPS"] = [{"client_id": "wx-app-1", "secret": "s"}]
    settings.SOCIALACCOUNT_PROVIDERS = providers
    settings.STRIPE_SECRET_KEY = "sk_test_123"
    settings.STRIPE_CURRENCY = "usd"
    for name in ("MCHID", "APPID", "PRIVATE_KEY", "CERT_SERIAL_NO", "APIV3_KEY"):
        setattr(settings, f"WECHATPAY_{name}", "set")
    settings.WECHATPAY_PUBLIC_KEY = "set"
    settings.WECHATPAY_PUBLIC_KEY_ID = "PUB_KEY_ID_1"
    CreditPackageFactory(prices={"CNY": 3500, "USD": 500, "EUR": 450})
    CreditPackageFactory(prices={"JPY": 700}, active=False)

    body = api_client.get("/api/config").json()

    assert body["sign_in"] == {
        "password": True,
        "google": {"client_id": "g-123.apps"},
        "wechat": {"app_id": "wx-app-1"},
    }
    assert body["payments"] == {
        "stripe": {"currencies": ["USD", "CNY", "EUR"]},
        "wechat": {"trade_types": ["native", "jsapi", "h5"]},
    }


def test_half_configured_wechat_pay_is_not_offered(api_client, settings) -> None:
    settings.WECHATPAY_MCHID = "1900000001"

    assert api_client.get("/api/config").json()["payments"]["wechat"] is None


def test_the_region_follows_the_trusted_country_header(api_client, settings) -> None:
    settings.REGION_COUNTRY_HEADER = "HTTP_CF_IPCOUNTRY"

    china = api_client.get("/api/config", HTTP_CF_IPCOUNTRY="CN").json()
    france = api_client.get("/api/config", HTTP_CF_IPCOUNTRY="FR").json()

    assert (china["region"], france["region"]) == ("cn", "global")


def test_limits_and_bonus_follow_the_settings(api_client, settings) -> None:
    settings.STORAGE_MAX_IMAGE_BYTES = 1_000_000
    settings.SIGNUP_BONUS_CREDITS = 0

    body = api_client.get("/api/config").json()

    assert body["limits"]["image"]["max_bytes"] == 1_000_000
    assert body["signup_bonus"] == 0


def test_config_is_public_even_with_a_bad_token(api_client) -> None:
    api_client.credentials(HTTP_AUTHORIZATION="Bearer expired-or-garbage")

    assert api_client.get("/api/config").status_code == 200
