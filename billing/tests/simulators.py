"""The payment simulators as fixtures: the same classes ``make run`` serves,
started in-process on port 0, with the platform's settings pointed at them.

Their notifications go to ``settings``' merchant URLs, which are not loopback
unless a test points them at a live server, so by default nothing is sent: a
test builds a notification (``event``, ``notification``) and posts it itself.
Retries are quick here (tenths of seconds, not minutes).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from billing.services.notifications import STRIPE_EVENTS
from billing.simulators import (
    StripeKeys,
    StripeSimulator,
    WechatPayKeys,
    WechatPaySimulator,
    stripe_signature,
)
from config.tests.loopback_server import LoopbackServer

API_KEY = "sk_test_" + "simulator"
WEBHOOK_SECRET = "whsec_" + "loopbacktestsecret"
MCHID = "1900000001"
APPID = "wx0000000000000001"
MERCHANT_SERIAL = "MCHSERIAL0000000001"
PUBLIC_KEY_ID = "PUB_KEY_ID_0000000000000001"
APIV3_KEY = "0123456789abcdef0123456789abcdef"
FAST_RETRIES = (0.1, 0.2, 0.4)
ROOT = Path(__file__).resolve().parents[2]


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """``Stripe-Signature`` for ``payload``, as the simulator (and Stripe) sign it."""
    return stripe_signature(payload, secret, timestamp=timestamp)


@cache
def wechatpay_test_keys() -> WechatPayKeys:
    """Generated once per test run (RSA keys are slow to make)."""
    return WechatPayKeys.generate(
        mchid=MCHID,
        appid=APPID,
        merchant_serial=MERCHANT_SERIAL,
        public_key_id=PUBLIC_KEY_ID,
        apiv3_key=APIV3_KEY,
    )


def use_stripe(settings: Any, keys: StripeKeys, origin: str) -> None:
    """Point the platform's Stripe settings at a simulator with these keys."""
    settings.STRIPE_SECRET_KEY = keys.secret_key
    settings.STRIPE_WEBHOOK_SECRET = keys.webhook_secret
    settings.STRIPE_API_BASE = origin
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_CURRENCY = "USD"


def use_wechatpay(settings: Any, keys: WechatPayKeys, origin: str) -> None:
    """Point the platform's WeChat Pay settings at a simulator with these keys."""
    settings.WECHATPAY_MCHID = keys.mchid
    settings.WECHATPAY_APPID = keys.appid
    settings.WECHATPAY_PRIVATE_KEY = keys.merchant_private_key
    settings.WECHATPAY_CERT_SERIAL_NO = keys.merchant_serial
    settings.WECHATPAY_APIV3_KEY = keys.apiv3_key
    settings.WECHATPAY_PUBLIC_KEY = keys.platform_public_key
    settings.WECHATPAY_PUBLIC_KEY_ID = keys.public_key_id
    settings.WECHATPAY_GATEWAY = origin


@pytest.fixture
def stripe_simulator(settings) -> Iterator[StripeSimulator]:
    sim = StripeSimulator(
        StripeKeys(API_KEY, WEBHOOK_SECRET),
        retry_delays=FAST_RETRIES,
        enabled_events=tuple(sorted(STRIPE_EVENTS)),
    ).start()
    use_stripe(settings, sim.keys, sim.origin)
    yield sim
    sim.stop()


@pytest.fixture
def wechatpay_simulator(settings) -> Iterator[WechatPaySimulator]:
    # Refunds stay PROCESSING until a test settles them.
    sim = WechatPaySimulator(
        wechatpay_test_keys(), retry_delays=FAST_RETRIES, refund_settle_seconds=None
    ).start()
    use_wechatpay(settings, sim.keys, sim.origin)
    settings.WECHATPAY_NOTIFY_URL = "https://animate.example.com/api/payments/webhook/wechat"
    yield sim
    sim.stop()


def post_notification(client: Any, body: bytes, headers: dict[str, str]) -> Any:
    """Deliver a notification to our endpoint the way WeChat does (raw body, headers)."""
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    return client.post(
        "/api/payments/webhook/wechat", body, content_type="application/json", **meta
    )


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class Receiver(LoopbackServer):
    """A merchant's notification endpoint on loopback: records every POST and
    answers the next scripted status (204 once the script is used up)."""

    def __init__(self, *statuses: int) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append(
                        Received(self.path, dict(self.headers), body, time.time())
                    )
                    status = receiver.script.popleft() if receiver.script else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(Handler)
        self.received: list[Received] = []
        self.script = deque(statuses)

    @property
    def url(self) -> str:
        return f"{self.base_url}/hook"


def embedded_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """A clean environment on the embedded settings, state under ``var_dir``."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(var_dir),
        "VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


@contextmanager
def simulator_process(
    command: str, var_dir: Path, *args: str, **env: str
) -> Iterator[tuple[str, str]]:
    """``manage.py <command> --port 0`` in a process of its own, as make run starts
    it, with its keys under ``var_dir``: yields its first line and its origin."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), command, "--port", "0", *args],
        cwd=ROOT,
        env=embedded_env(var_dir, **env),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert " on http://127.0.0.1:" in line, line
        yield line, line.split(" on ", 1)[1].split()[0]
    finally:
        process.terminate()
        process.wait(timeout=10)
