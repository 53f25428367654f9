"""``manage.py stripe_simulator`` / ``wechatpay_simulator`` run in their own
processes, as ``make run`` starts them, and agree with the embedded settings on
the keys generated once under ``VAR_DIR/simulators/``: the platform's official
clients, configured from the settings alone, talk to them and verify what
they send."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import stripe
from wechatpayv3 import WeChatPay, WeChatPayType

from billing.tests.simulators import ROOT, Receiver, embedded_env, simulator_process

PROBE = """
import json
from django.conf import settings
names = [n for n in dir(settings) if n.startswith(("STRIPE_", "WECHATPAY_", "PAYMENT_"))]
print(json.dumps({n: getattr(settings, n) for n in names}))
"""


def _settings(var_dir: Path, **extra: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + PROBE],
        cwd=ROOT,
        env=embedded_env(var_dir, **extra),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def start(tmp_path: Path) -> Iterator:
    with ExitStack() as stack:
        yield lambda command, **env: stack.enter_context(
            simulator_process(command, tmp_path, **env)
        )


def test_the_stripe_command_and_the_settings_share_one_set_of_keys(
    start, tmp_path, receiver
) -> None:
    # given the command started as make run starts it, with SITE_URL at a merchant
    line, origin = start("stripe_simulator", SITE_URL=receiver.base_url)
    keys_file = tmp_path / "simulators" / "stripe.json"

    # then it names its URL and where its webhooks go, and keeps its keys private
    assert line.startswith("Stripe simulator on http://127.0.0.1:")
    assert f"webhooks to {receiver.base_url}/api/payments/webhook/stripe" in line
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    port = origin.rsplit(":", 1)[1]

    # and the embedded settings of another process use that simulator and those keys
    seen = _settings(tmp_path, STRIPE_SIMULATOR_PORT=port)
    assert json.loads(keys_file.read_text()) == {
        "secret_key": seen["STRIPE_SECRET_KEY"],
        "webhook_secret": seen["STRIPE_WEBHOOK_SECRET"],
    }
    assert seen["STRIPE_API_BASE"] == origin
    assert seen["PAYMENT_SIMULATORS"] is True

    # when the official client, configured from those settings, opens a session that is paid
    client = stripe.StripeClient(seen["STRIPE_SECRET_KEY"], base_addresses={"api": origin})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "metadata": {"order_id": "o-1"},
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 499,
                        "product_data": {"name": "Starter"},
                    },
                    "quantity": 1,
                }
            ],
            "success_url": seen["STRIPE_SUCCESS_URL"],
        }
    )
    assert httpx.post(f"{session.url}/pay").status_code == 303
    _wait_for(lambda: receiver.received)

    # then the platform's webhook got checkout.session.completed, signed with its secret
    [hook] = receiver.received
    event = stripe.Webhook.construct_event(
        hook.body.decode(), hook.headers["Stripe-Signature"], seen["STRIPE_WEBHOOK_SECRET"]
    )
    assert hook.path == "/api/payments/webhook/stripe"
    assert (event.type, event.data.object.id) == ("checkout.session.completed", session.id)


def test_the_wechatpay_command_and_the_settings_share_one_merchant(
    start, tmp_path, receiver
) -> None:
    line, origin = start("wechatpay_simulator")
    port = origin.rsplit(":", 1)[1]
    seen = _settings(tmp_path, WECHATPAY_SIMULATOR_PORT=port)
    keys = json.loads((tmp_path / "simulators" / "wechatpay.json").read_text())

    assert line.startswith(f"WeChat Pay simulator on {origin} (merchant {keys['mchid']})")
    assert seen["WECHATPAY_GATEWAY"] == origin
    assert (seen["WECHATPAY_MCHID"], seen["WECHATPAY_APPID"]) == (keys["mchid"], keys["appid"])
    assert seen["WECHATPAY_PRIVATE_KEY"] == keys["merchant_private_key"]
    assert seen["WECHATPAY_PUBLIC_KEY_ID"] == keys["public_key_id"]
    assert seen["WECHATPAY_PUBLIC_KEY"].startswith("-----BEGIN PUBLIC KEY-----")

    client = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid=seen["WECHATPAY_MCHID"],
        private_key=seen["WECHATPAY_PRIVATE_KEY"],
        cert_serial_no=seen["WECHATPAY_CERT_SERIAL_NO"],
        appid=seen["WECHATPAY_APPID"],
        apiv3_key=seen["WECHATPAY_APIV3_KEY"],
        notify_url=receiver.url,
        public_key=seen["WECHATPAY_PUBLIC_KEY"],
        public_key_id=seen["WECHATPAY_PUBLIC_KEY_ID"],
    )
    client._core._gate_way = seen["WECHATPAY_GATEWAY"]
    expire = (datetime.now(UTC) + timedelta(minutes=30)).isoformat(timespec="seconds")
    status, body = client.pay(
        description="Starter (100 credits)",
        out_trade_no="order000001",
        amount={"total": 2900, "currency": "CNY"},
        time_expire=expire,
    )
    code_url = json.loads(body)["code_url"]
    page = httpx.get(code_url)
    paid = httpx.post(f"{origin}/pay", data={"token": code_url.rpartition("pr=")[2]})
    _wait_for(lambda: receiver.received)

    assert status == 200 and ">Pay</button>" in page.text and paid.status_code == 200
    [hook] = receiver.received
    notice = client.callback(headers=hook.headers, body=hook.body)
    assert notice["event_type"] == "TRANSACTION.SUCCESS"
    assert notice["resource"]["out_trade_no"] == "order000001"


def test_processes_starting_together_end_up_with_one_set_of_keys(tmp_path) -> None:
    with ThreadPoolExecutor(4) as pool:
        seen = list(pool.map(lambda _: _settings(tmp_path), range(4)))

    assert len({(s["STRIPE_SECRET_KEY"], s["WECHATPAY_PUBLIC_KEY_ID"]) for s in seen}) == 1
    assert sorted(p.name for p in (tmp_path / "simulators").iterdir()) == [
        "stripe.json",
        "wechatpay.json",
    ]


def test_a_provider_with_credentials_of_its_own_does_not_use_its_simulator(tmp_path) -> None:
    real = _settings(tmp_path, STRIPE_SECRET_KEY="sk_live_" + "x" * 20)
    off = _settings(tmp_path / "off", PAYMENT_SIMULATORS="false")

    assert (real["STRIPE_SECRET_KEY"], real["STRIPE_API_BASE"]) == (
        "sk_live_" + "x" * 20,
        "https://api.stripe.com",
    )
    assert real["STRIPE_WEBHOOK_SECRET"] == ""
    assert real["WECHATPAY_GATEWAY"] == "http://127.0.0.1:8057"
    assert not (tmp_path / "simulators" / "stripe.json").exists()
    assert (off["STRIPE_SECRET_KEY"], off["WECHATPAY_MCHID"]) == ("", "")
    assert off["WECHATPAY_GATEWAY"] == "https://api.mch.weixin.qq.com"
    assert not (tmp_path / "off" / "simulators").exists()


def _wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)
