"""config.settings.production refuses embedded defaults and turns on the security headers.

Each case imports the settings in a fresh interpreter with a clean environment,
as a deployment would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config.tests.fresh_process import run_python

GOOD = {
    "DJANGO_SECRET_KEY": "k" * 50,
    "JWT_SIGNING_KEY": "j" * 50,
    "DJANGO_ALLOWED_HOSTS": "api.example.com",
    "DATABASE_URL": "mysql://app:pw@127.0.0.1:3306/animate",
    "EMAIL_URL": "smtp://mailer:pw@smtp.example.com:587",
}

PROBE = """
import json
import django
from django.conf import settings
django.setup()
from django.test import Client

client = Client()
secure = client.get("/healthz", secure=True, HTTP_HOST="api.example.com")
plain_api = client.get("/api/auth/me", HTTP_HOST="api.example.com")
plain_health = client.get("/healthz", HTTP_HOST="api.example.com")
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
    "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
    "LOG_FORMAT": settings.LOG_FORMAT,
    "ADMIN_REQUIRE_MFA": settings.ADMIN_REQUIRE_MFA,
    "hsts": secure.headers.get("Strict-Transport-Security"),
    "nosniff": secure.headers.get("X-Content-Type-Options"),
    "referrer": secure.headers.get("Referrer-Policy"),
    "frame": secure.headers.get("X-Frame-Options"),
    "plain_api": [plain_api.status_code, plain_api.headers.get("Location")],
    "plain_health": plain_health.status_code,
}))
"""


def _run(env: dict[str, str], tmp_path: Path, code: str = "import django; django.setup()"):
    return run_python(
        code, tmp_path, {"DJANGO_SETTINGS_MODULE": "config.settings.production", **env}
    )


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY must be set"),
        ("DJANGO_ALLOWED_HOSTS", "DJANGO_ALLOWED_HOSTS must list the hosts"),
        ("DATABASE_URL", "DATABASE_URL must point at the primary database"),
        ("JWT_SIGNING_KEY", "JWT_SIGNING_KEY must be set"),
        ("EMAIL_URL", "EMAIL_URL (or EMAIL_BACKEND) must name a mail backend"),
    ],
)
def test_production_refuses_to_start_without(missing, message, tmp_path):
    env = {k: v for k, v in GOOD.items() if k != missing}

    result = _run(env, tmp_path)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_refuses_a_short_secret_key_and_sqlite(tmp_path):
    short = _run({**GOOD, "DJANGO_SECRET_KEY": "too-short"}, tmp_path)
    sqlite = _run({**GOOD, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}, tmp_path)

    assert short.returncode != 0
    assert "32+ characters" in short.stderr
    assert sqlite.returncode != 0
    assert "not SQLite" in sqlite.stderr


def test_production_turns_on_security_headers_and_secure_cookies(tmp_path):
    result = _run(GOOD, tmp_path, PROBE)

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "LOG_FORMAT": "json",
        "ADMIN_REQUIRE_MFA": True,
        "hsts": "max-age=31536000; includeSubDomains",
        "nosniff": "nosniff",
        "referrer": "same-origin",
        "frame": "DENY",
        # Plain http is sent to https, except the probes a load balancer calls.
        "plain_api": [301, "https://api.example.com/api/auth/me"],
        "plain_health": 200,
    }


PAYMENTS_PROBE = """
import json
import django
from django.conf import settings
django.setup()
from billing import stripe_gateway, wechat_gateway
from billing.errors import PaymentProviderNotConfigured

refused = []
for gateway in (stripe_gateway, wechat_gateway):
    try:
        gateway.ensure_configured()
    except PaymentProviderNotConfigured:
        refused.append(gateway.__name__)
print(json.dumps({
    "simulators": settings.PAYMENT_SIMULATORS,
    "stripe": [settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE],
    "wechatpay": [settings.WECHATPAY_MCHID, settings.WECHATPAY_GATEWAY],
    "refused": refused,
}))
"""


def test_production_never_uses_the_payment_simulators(tmp_path):
    # given no payment keys, and even an environment that asks for the simulators
    result = _run({**GOOD, "PAYMENT_SIMULATORS": "true"}, tmp_path, PAYMENTS_PROBE)

    # then both providers are unconfigured (their endpoints answer 503) and no key was made
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {
        "simulators": False,
        "stripe": ["", "https://api.stripe.com"],
        "wechatpay": ["", "https://api.mch.weixin.qq.com"],
        "refused": ["billing.stripe_gateway", "billing.wechat_gateway"],
    }
    assert not (tmp_path / "var" / "simulators").exists()


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
    ],
)
def test_production_refuses_a_mail_backend_that_delivers_nothing(backend, tmp_path):
    # EMAIL_URL unset and EMAIL_BACKEND naming a development backend, or an
    # EMAIL_URL that resolves to one (console://).
    env = {k: v for k, v in GOOD.items() if k != "EMAIL_URL"}

    named = _run({**env, "EMAIL_BACKEND": backend}, tmp_path)
    console_url = _run({**env, "EMAIL_URL": "consolemail://"}, tmp_path)

    assert named.returncode != 0
    assert f"{backend} would not send" in named.stderr
    assert console_url.returncode != 0
    assert "would not send" in console_url.stderr


def test_production_starts_with_an_smtp_url_or_a_delivering_backend(tmp_path):
    probe = "import django; django.setup(); from django.conf import settings; "
    probe += "print(settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT)"

    smtp = _run(GOOD, tmp_path, probe)
    other = _run(
        {**{k: v for k, v in GOOD.items() if k != "EMAIL_URL"}, "EMAIL_BACKEND": "anymail.X"},
        tmp_path,
        "import django; django.setup()",
    )

    assert smtp.returncode == 0, smtp.stderr
    assert smtp.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.com",
        "587",
    ]
    assert other.returncode == 0, other.stderr


@pytest.mark.parametrize(
    ("jwt_key", "message"),
    [
        ("a", "JWT_SIGNING_KEY must be a random value of 32+ characters"),
        ("j" * 31, "JWT_SIGNING_KEY must be a random value of 32+ characters"),
        ("k" * 50, "JWT_SIGNING_KEY must differ from DJANGO_SECRET_KEY"),
    ],
)
def test_production_refuses_a_weak_or_reused_jwt_key(jwt_key, message, tmp_path):
    result = _run({**GOOD, "JWT_SIGNING_KEY": jwt_key}, tmp_path)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
