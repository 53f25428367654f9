"""The WeChat Pay simulator, driven by the official ``wechatpayv3`` library: signed
requests checked, every answer signed with the platform key, pay pages, and
notifications encrypted and signed as WeChat sends them, retried until a 2xx."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest
from wechatpayv3 import WeChatPay, WeChatPayType

from billing.simulators import WechatPayKeys, WechatPaySimulator
from billing.tests.simulators import FAST_RETRIES, Receiver, wechatpay_test_keys


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def sim() -> Iterator[WechatPaySimulator]:
    simulator = WechatPaySimulator(
        wechatpay_test_keys(), retry_delays=FAST_RETRIES, refund_settle_seconds=None
    )
    simulator.start()
    yield simulator
    simulator.stop()


def _client(
    sim: WechatPaySimulator, receiver: Receiver, keys: WechatPayKeys | None = None
) -> WeChatPay:
    keys = keys or sim.keys
    client = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid=keys.mchid,
        private_key=keys.merchant_private_key,
        cert_serial_no=keys.merchant_serial,
        appid=keys.appid,
        apiv3_key=keys.apiv3_key,
        notify_url=receiver.url,
        public_key=sim.keys.platform_public_key,
        public_key_id=sim.keys.public_key_id,
    )
    client._core._gate_way = sim.origin
    return client


def _order(client: WeChatPay, out_trade_no: str = "order000001", **extra: object) -> dict:
    expire = (datetime.now(UTC) + timedelta(minutes=30)).isoformat(timespec="seconds")
    status, body = client.pay(
        description="Standard (500 credits)",
        out_trade_no=out_trade_no,
        amount={"total": 3500, "currency": "CNY"},
        time_expire=expire,
        **extra,
    )
    assert status == 200, body
    return json.loads(body)


def _callbacks(client: WeChatPay, receiver: Receiver) -> list[dict]:
    return [client.callback(headers=r.headers, body=r.body) for r in receiver.received]


def test_native_h5_and_jsapi_orders_answer_signed_prepay_results(sim, receiver) -> None:
    client = _client(sim, receiver)

    native = _order(client, "native00001")
    h5 = _order(
        client,
        "h5order0001",
        pay_type=WeChatPayType.H5,
        scene_info={"payer_client_ip": "127.0.0.1", "h5_info": {"type": "Wap"}},
    )
    jsapi = _order(client, "jsapi000001", pay_type=WeChatPayType.JSAPI, payer={"openid": "o-1"})
    status, no_openid = client.pay(
        description="x",
        out_trade_no="jsapi000002",
        amount={"total": 1},
        pay_type=WeChatPayType.JSAPI,
        payer={"openid": ""},
    )

    assert native["code_url"].startswith(f"{sim.origin}/wxpay/bizpayurl?pr=")
    assert h5["h5_url"].startswith(f"{sim.origin}/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx")
    assert jsapi["prepay_id"].startswith("wx")
    assert (status, json.loads(no_openid)["code"]) == (400, "PARAM_ERROR")
    assert sim.rejected_signatures == 0
    assert sim.transactions["native00001"]["trade_state"] == "NOTPAY"


def test_the_same_out_trade_no_answers_the_same_and_refuses_other_parameters(sim, receiver) -> None:
    client = _client(sim, receiver)
    expire = (datetime.now(UTC) + timedelta(minutes=30)).isoformat(timespec="seconds")
    asked = {"description": "d", "out_trade_no": "same0000001", "time_expire": expire}

    first = client.pay(amount={"total": 100, "currency": "CNY"}, **asked)
    again = client.pay(amount={"total": 100, "currency": "CNY"}, **asked)
    other = client.pay(amount={"total": 200, "currency": "CNY"}, **asked)

    assert first == again
    assert (other[0], json.loads(other[1])["code"]) == (400, "OUT_TRADE_NO_USED")
    assert len(sim.transactions) == 1


def test_requests_signed_with_another_key_are_refused_unanswered(sim, receiver) -> None:
    stranger = WechatPayKeys.generate(
        mchid=sim.keys.mchid,
        merchant_serial=sim.keys.merchant_serial,
        appid=sim.keys.appid,
        apiv3_key=sim.keys.apiv3_key,
        public_key_id=sim.keys.public_key_id,
    )

    status, body = _client(sim, receiver, stranger).query(out_trade_no="nothing01")

    assert (status, json.loads(body)["code"]) == (401, "SIGN_ERROR")
    assert sim.rejected_signatures == 1
    assert sim.transactions == {}


def test_query_close_and_query_by_transaction_id(sim, receiver) -> None:
    client = _client(sim, receiver)
    _order(client, "closeme0001")
    _order(client, "payme000001")

    status, unpaid = client.query(out_trade_no="closeme0001")
    closed = client.close(out_trade_no="closeme0001")
    after = json.loads(client.query(out_trade_no="closeme0001")[1])
    missing = client.query(out_trade_no="nosuch00001")
    paid = sim.pay("payme000001")
    by_id = json.loads(client.query(transaction_id=paid["transaction_id"])[1])
    refused = client.close(out_trade_no="payme000001")

    assert status == 200
    assert json.loads(unpaid) == {
        "appid": sim.keys.appid,
        "mchid": sim.keys.mchid,
        "out_trade_no": "closeme0001",
        "trade_type": "NATIVE",
        "trade_state": "NOTPAY",
        "trade_state_desc": "订单未支付",
        "amount": {"total": 3500, "currency": "CNY"},
    }
    assert closed == (204, b"")
    assert after["trade_state"] == "CLOSED"
    assert (missing[0], json.loads(missing[1])["code"]) == (404, "ORDER_NOT_EXIST")
    assert by_id["out_trade_no"] == "payme000001" and by_id["trade_state"] == "SUCCESS"
    assert by_id["amount"] == {
        "total": 3500,
        "payer_total": 3500,
        "currency": "CNY",
        "payer_currency": "CNY",
    }
    assert (refused[0], json.loads(refused[1])["code"]) == (400, "ORDERPAID")
    with pytest.raises(Exception, match="cannot be paid"):
        sim.pay("closeme0001")


def test_paying_sends_an_encrypted_signed_notification_the_library_opens(sim, receiver) -> None:
    client = _client(sim, receiver)
    _order(client)

    sim.pay("order000001")
    assert sim.wait_for_deliveries()

    [notice] = _callbacks(client, receiver)
    assert notice["event_type"] == "TRANSACTION.SUCCESS"
    assert notice["resource_type"] == "encrypt-resource"
    resource = notice["resource"]
    assert (resource["out_trade_no"], resource["trade_state"], resource["mchid"]) == (
        "order000001",
        "SUCCESS",
        sim.keys.mchid,
    )
    assert resource["transaction_id"].startswith("4200") and len(resource["transaction_id"]) == 28
    assert resource["amount"]["total"] == 3500
    headers = receiver.received[0].headers
    assert headers["Wechatpay-Serial"] == sim.keys.public_key_id
    assert abs(int(headers["Wechatpay-Timestamp"]) - time.time()) < 5


def test_a_failing_callback_is_retried_with_a_fresh_signature_and_the_same_id(
    sim, receiver
) -> None:
    receiver.script.extend([500, 404])
    client = _client(sim, receiver)
    _order(client)

    sim.pay("order000001")
    assert sim.wait_for_deliveries()

    notices = _callbacks(client, receiver)
    assert len(notices) == 3 and len({n["id"] for n in notices}) == 1
    nonces = {r.headers["Wechatpay-Nonce"] for r in receiver.received}
    assert len(nonces) == 3
    assert [a["status"] for a in sim.delivery_log()[0]["attempts"]] == [500, 404, 204]


def test_notifications_can_be_duplicated_delayed_or_lost(sim, receiver) -> None:
    client = _client(sim, receiver)
    for n in range(3):
        _order(client, f"order00000{n}")

    sim.configure(duplicate_notifications=1)
    sim.pay("order000000")
    assert sim.wait_for_deliveries()
    sim.configure(duplicate_notifications=0, notification_delay=0.4)
    paid_at = time.time()
    sim.pay("order000001")
    assert sim.wait_for_deliveries()
    sim.configure(notification_delay=0.0, deliver_notifications=False)
    sim.pay("order000002")
    assert sim.wait_for_deliveries()

    notices = _callbacks(client, receiver)
    assert [n["resource"]["out_trade_no"] for n in notices] == ["order000000"] * 2 + ["order000001"]
    assert notices[0]["id"] == notices[1]["id"]
    assert receiver.received[2].at - paid_at >= 0.35
    assert [d["state"] for d in sim.delivery_log()][-1] == "lost"


def test_a_declined_payment_is_payerror_and_notifies_nothing(sim, receiver) -> None:
    client = _client(sim, receiver)
    _order(client)

    sim.decline("order000001")
    assert sim.wait_for_deliveries()

    assert json.loads(client.query(out_trade_no="order000001")[1])["trade_state"] == "PAYERROR"
    assert receiver.received == []


def test_refunds_process_then_settle_and_notify_the_refund_notify_url(sim, receiver) -> None:
    client = _client(sim, receiver)
    _order(client)
    sim.pay("order000001")

    status, body = client.refund(
        out_refund_no="refund00001",
        out_trade_no="order000001",
        amount={"refund": 1000, "total": 3500, "currency": "CNY"},
    )
    repeat = client.refund(
        out_refund_no="refund00001",
        out_trade_no="order000001",
        amount={"refund": 1000, "total": 3500, "currency": "CNY"},
    )
    too_much = client.refund(
        out_refund_no="refund00002",
        out_trade_no="order000001",
        amount={"refund": 2600, "total": 3500, "currency": "CNY"},
    )
    missing = client.query_refund(out_refund_no="refund00009")
    sim.configure(refund_settle_seconds=0.2)
    client.refund(
        out_refund_no="refund00003",
        out_trade_no="order000001",
        amount={"refund": 2500, "total": 3500, "currency": "CNY"},
    )
    sim.settle_refund("refund00001", "CLOSED")
    deadline = time.time() + 5
    while len(sim.notifications) < 3 and time.time() < deadline:
        time.sleep(0.05)
    assert sim.wait_for_deliveries()

    refund = json.loads(body)
    assert (status, refund["status"], refund["amount"]["refund"]) == (200, "PROCESSING", 1000)
    assert json.loads(repeat[1])["refund_id"] == refund["refund_id"]
    assert (too_much[0], json.loads(too_much[1])["code"]) == (400, "INVALID_REQUEST")
    assert (missing[0], json.loads(missing[1])["code"]) == (404, "RESOURCE_NOT_EXISTS")
    assert json.loads(client.query_refund(out_refund_no="refund00003")[1])["status"] == "SUCCESS"
    notices = {
        n["resource"]["out_refund_no"]: (n["event_type"], n["resource"]["refund_status"])
        for n in _callbacks(client, receiver)
        if n["event_type"].startswith("REFUND.")
    }
    assert notices == {
        "refund00001": ("REFUND.CLOSED", "CLOSED"),
        "refund00003": ("REFUND.SUCCESS", "SUCCESS"),
    }


def test_the_pay_pages_pay_and_send_h5_payers_back(sim, receiver) -> None:
    client = _client(sim, receiver)
    native = _order(client, "native00001")
    h5 = _order(
        client,
        "h5order0001",
        pay_type=WeChatPayType.H5,
        scene_info={"payer_client_ip": "127.0.0.1", "h5_info": {"type": "Wap"}},
    )
    back = "http://127.0.0.1:9/credits/return?payment=1"

    page = httpx.get(native["code_url"])
    token = native["code_url"].rpartition("pr=")[2]
    paid = httpx.post(f"{sim.origin}/pay", data={"token": token})
    again = httpx.get(native["code_url"])
    h5_page = httpx.get(h5["h5_url"] + "&" + urlencode({"redirect_url": back}))
    prepay_id = httpx.URL(h5["h5_url"]).params["prepay_id"]
    h5_paid = httpx.post(f"{sim.origin}/pay", data={"token": prepay_id, "redirect_url": back})

    assert page.status_code == 200 and "¥35.00" in page.text and ">Pay</button>" in page.text
    assert paid.status_code == 200 and "Payment complete" in paid.text
    assert again.status_code == 409
    assert h5_page.status_code == 200 and back in h5_page.text.replace("&amp;", "&")
    assert (h5_paid.status_code, h5_paid.headers["Location"]) == (303, back)
    assert {t["trade_state"] for t in sim.transactions.values()} == {"SUCCESS"}


def test_an_outage_answers_a_signed_system_error(sim, receiver) -> None:
    client = _client(sim, receiver)
    sim.fail(500)

    status, body = client.query(out_trade_no="order000001")

    assert (status, json.loads(body)["code"]) == (500, "SYSTEM_ERROR")


def test_the_control_endpoints_pay_and_report(sim, receiver) -> None:
    _order(_client(sim, receiver))

    paid = httpx.post(f"{sim.origin}/__sim__/transactions/order000001/pay")
    twice = httpx.post(f"{sim.origin}/__sim__/transactions/order000001/pay")
    assert sim.wait_for_deliveries()
    state = httpx.get(f"{sim.origin}/__sim__/state").json()

    assert (paid.status_code, paid.json()["trade_state"]) == (200, "SUCCESS")
    assert twice.status_code == 409
    assert [n["event_type"] for n in state["notifications"]] == ["TRANSACTION.SUCCESS"]
    assert state["deliveries"][0]["state"] == "delivered"
