"""Buying credits end to end over HTTP, wired as ``make run`` wires it: the
platform on a live server, the simulators delivering their notifications to it
over real HTTP, a user following the returned URL and pressing "Pay" (in a real
browser where it matters). Credits come once per paid order, never on Decline."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from billing import services
from billing.models import LedgerEntry, PaymentOrder, PaymentRefund, ProviderEvent
from billing.simulators import StripeSimulator, WechatPaySimulator, stripe_keys, wechatpay_keys
from billing.tests.simulators import simulator_process, use_stripe, use_wechatpay

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct-horse-battery-9"


class Shopper:
    """A user of the REST API, as the console is."""

    def __init__(self, base_url: str, email: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)
        signed_up = self.http.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert signed_up.status_code == 201, signed_up.text
        self.http.headers["Authorization"] = f"Bearer {signed_up.json()['access']}"

    def package(self, name: str) -> dict[str, Any]:
        listed = self.http.get("/api/payments/packages").json()
        return next(p for p in listed if p["name"] == name)

    def buy(self, provider: str, package: dict[str, Any], **body: str) -> dict[str, Any]:
        answer = self.http.post(
            f"/api/payments/{provider}/create", json={"package_id": package["id"], **body}
        )
        assert answer.status_code == 201, answer.text
        return answer.json()

    def balance(self) -> int:
        return self.http.get("/api/users/credits").json()["balance"]

    def status(self, payment: dict[str, Any]) -> str:
        return self.http.get(f"/api/payments/{payment['id']}").json()["status"]


def _eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, "timed out waiting"
        time.sleep(0.1)


def _purchases(payment: dict[str, Any]) -> list[int]:
    return list(
        LedgerEntry.objects.filter(kind="purchase", order_id=payment["id"]).values_list(
            "amount", flat=True
        )
    )


@pytest.fixture
def platform(live_server, settings) -> str:
    """The platform on a live server, its return pages and callbacks on it, with
    the catalogue of a fresh deployment."""
    url = live_server.url
    settings.SITE_URL = url
    settings.STRIPE_SUCCESS_URL = url + "/credits/return?payment={PAYMENT_ID}"
    settings.STRIPE_CANCEL_URL = url + "/credits/return?payment={PAYMENT_ID}&canceled=1"
    settings.WECHATPAY_H5_REDIRECT_URL = url + "/credits/return?payment={PAYMENT_ID}"
    settings.WECHATPAY_NOTIFY_URL = url + "/api/payments/webhook/wechat"
    services.create_default_packages()
    return url


@pytest.fixture
def stripe_webhooks(platform, stripe_simulator) -> StripeSimulator:
    stripe_simulator.configure(webhook_url=platform + "/api/payments/webhook/stripe")
    return stripe_simulator


@pytest.fixture
def stripe_process(platform, settings, tmp_path: Path) -> Iterator[str]:
    """``manage.py stripe_simulator`` in its own process; the platform's settings
    read the keys it generated, as the embedded settings do."""
    hook = platform + "/api/payments/webhook/stripe"
    with simulator_process("stripe_simulator", tmp_path, "--webhook-url", hook) as (_, origin):
        use_stripe(settings, stripe_keys(tmp_path), origin)
        yield origin


@pytest.fixture
def wechatpay_process(platform, settings, tmp_path: Path) -> Iterator[str]:
    with simulator_process("wechatpay_simulator", tmp_path) as (_, origin):
        use_wechatpay(settings, wechatpay_keys(tmp_path), origin)
        yield origin


def test_a_user_buys_a_package_with_stripe_by_pressing_pay(platform, stripe_process, page) -> None:
    # given a new user choosing the Standard package
    shopper = Shopper(platform, "ann@example.com")
    package = shopper.package("Standard")
    before = shopper.balance()
    payment = shopper.buy("stripe", package)
    assert payment["checkout_url"].startswith(f"{stripe_process}/c/pay/cs_test_")

    # when they follow the checkout URL and press Pay
    page.goto(payment["checkout_url"])
    page.get_by_role("button", name="Pay").click()

    # then the browser is back on the console's return page for this payment
    page.wait_for_url(f"{platform}/credits/return?payment={payment['id']}")
    # and the simulator's signed webhook, not the browser, granted the credits, once
    _eventually(lambda: shopper.status(payment) == "paid")
    assert httpx.post(f"{stripe_process}/__sim__/wait", json={"timeout": 10}).json()["idle"]
    assert shopper.balance() == before + 500
    assert _purchases(payment) == [500]


def test_a_user_buys_a_package_with_wechat_native_pay_by_pressing_pay(
    platform, wechatpay_process, page
) -> None:
    shopper = Shopper(platform, "bo@example.com")
    before = shopper.balance()
    payment = shopper.buy("wechat", shopper.package("Pro"), trade_type="native")
    assert (payment["amount"], payment["currency"]) == (25900, "CNY")

    page.goto(payment["code_url"])
    assert page.get_by_text("¥259.00").is_visible()
    page.get_by_role("button", name="Pay").click()

    assert page.get_by_role("status").inner_text() == "Payment complete. You can close this page."
    _eventually(lambda: shopper.status(payment) == "paid")
    assert httpx.post(f"{wechatpay_process}/__sim__/wait", json={"timeout": 10}).json()["idle"]
    assert shopper.balance() == before + 1200
    assert _purchases(payment) == [1200]


def test_decline_on_the_stripe_page_grants_nothing(platform, stripe_webhooks, page) -> None:
    shopper = Shopper(platform, "cy@example.com")
    before = shopper.balance()
    payment = shopper.buy("stripe", shopper.package("Starter"))

    page.goto(payment["checkout_url"])
    page.get_by_role("button", name="Decline").click()
    page.wait_for_url(f"{platform}/credits/return?payment={payment['id']}&canceled=1")

    _eventually(lambda: shopper.status(payment) == "failed")
    assert stripe_webhooks.wait_for_deliveries()
    assert shopper.balance() == before
    assert _purchases(payment) == []
    delivered = {d["state"] for d in stripe_webhooks.delivery_log()}
    assert delivered == {"delivered"}


def test_an_h5_payment_sends_the_browser_back_to_the_console(platform, wechatpay_simulator) -> None:
    shopper = Shopper(platform, "di@example.com")
    before = shopper.balance()
    payment = shopper.buy("wechat", shopper.package("Starter"), trade_type="h5")

    cashier = httpx.get(payment["h5_url"])
    form = dict(re.findall(r"name='(\w+)' value='([^']*)'", html.unescape(cashier.text)))
    paid = httpx.post(f"{wechatpay_simulator.origin}/pay", data=form)

    assert (paid.status_code, paid.headers["Location"]) == (
        303,
        f"{platform}/credits/return?payment={payment['id']}",
    )
    _eventually(lambda: shopper.status(payment) == "paid")
    assert wechatpay_simulator.wait_for_deliveries()
    assert shopper.balance() == before + 100


def test_duplicate_and_late_notifications_grant_once(
    platform, stripe_webhooks, wechatpay_simulator
) -> None:
    # given both providers sending every notification three times, and late
    shopper = Shopper(platform, "ed@example.com")
    before = shopper.balance()
    stripe_webhooks.configure(duplicate_notifications=2, notification_delay=0.5)
    wechatpay_simulator.configure(duplicate_notifications=2, notification_delay=0.5)
    card = shopper.buy("stripe", shopper.package("Starter"))
    qr = shopper.buy("wechat", shopper.package("Standard"), trade_type="native")

    # when both are paid
    stripe_webhooks.pay(PaymentOrder.objects.get(pk=card["id"]).provider_session_id)
    wechatpay_simulator.pay(PaymentOrder.objects.get(pk=qr["id"]).out_trade_no)

    # then nothing is granted before the notifications come, and each order once after
    assert (shopper.status(card), shopper.status(qr), shopper.balance()) == (
        "pending",
        "pending",
        before,
    )
    assert stripe_webhooks.wait_for_deliveries() and wechatpay_simulator.wait_for_deliveries()
    assert (shopper.status(card), shopper.status(qr)) == ("paid", "paid")
    assert shopper.balance() == before + 100 + 500
    assert (_purchases(card), _purchases(qr)) == ([100], [500])
    completed = [d for d in stripe_webhooks.delivery_log() if d["state"] == "delivered"]
    assert len({d["event_id"] for d in completed}) < len(completed)
    assert ProviderEvent.objects.filter(order_id=qr["id"]).count() == 1


def test_a_webhook_the_platform_refuses_is_retried_until_it_is_taken(
    platform, stripe_webhooks, settings
) -> None:
    # given a platform whose webhook secret is wrong for a while
    shopper = Shopper(platform, "fay@example.com")
    before = shopper.balance()
    stripe_webhooks.configure(
        enabled_events=("checkout.session.completed",), retry_delays=(0.3, 0.3, 0.3, 0.3)
    )
    settings.STRIPE_WEBHOOK_SECRET = "whsec_" + "notthesimulators"
    payment = shopper.buy("stripe", shopper.package("Starter"))

    # when the user pays and the first delivery is refused
    stripe_webhooks.pay(PaymentOrder.objects.get(pk=payment["id"]).provider_session_id)
    _eventually(lambda: stripe_webhooks.delivery_log()[0]["attempts"])
    assert shopper.status(payment) == "pending"
    settings.STRIPE_WEBHOOK_SECRET = stripe_webhooks.keys.webhook_secret

    # then a retry, signed afresh, is taken and grants once
    assert stripe_webhooks.wait_for_deliveries()
    [delivery] = stripe_webhooks.delivery_log()
    statuses = [a["status"] for a in delivery["attempts"]]
    assert statuses[0] == 400 and statuses[-1] == 200 and set(statuses[:-1]) == {400}
    assert shopper.balance() == before + 100
    assert _purchases(payment) == [100]


def test_a_staff_refund_is_settled_by_the_simulators_refund_notification(
    platform, wechatpay_simulator
) -> None:
    # given a paid WeChat order and refunds that WeChat settles a moment later
    shopper = Shopper(platform, "gus@example.com")
    payment = shopper.buy("wechat", shopper.package("Starter"), trade_type="native")
    wechatpay_simulator.pay(PaymentOrder.objects.get(pk=payment["id"]).out_trade_no)
    _eventually(lambda: shopper.status(payment) == "paid")
    before = shopper.balance()
    wechatpay_simulator.configure(refund_settle_seconds=0.2)

    # when support refunds it
    row = services.refund_order(
        PaymentOrder.objects.get(pk=payment["id"]), staff=None, reason="ticket 12"
    )

    # then the credits go at once, and REFUND.SUCCESS settles the refund
    assert (row.status, shopper.balance(), shopper.status(payment)) == (
        "pending",
        before - 100,
        "refunded",
    )
    _eventually(lambda: PaymentRefund.objects.get().status == "succeeded")
    assert wechatpay_simulator.wait_for_deliveries()
    assert shopper.balance() == before - 100
    assert [n["event_type"] for n in wechatpay_simulator.notifications] == [
        "TRANSACTION.SUCCESS",
        "REFUND.SUCCESS",
    ]


@pytest.fixture
def wechatpay_simulator(platform, settings, wechatpay_simulator) -> WechatPaySimulator:
    """The suite's WeChat Pay simulator, its notifications going to the live server."""
    settings.WECHATPAY_NOTIFY_URL = platform + "/api/payments/webhook/wechat"
    return wechatpay_simulator
