"""Buying a package with WeChat Pay v3, against the loopback gateway, and its
notifications: verified, decrypted, stored, applied exactly once."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime
from urllib.parse import quote_plus

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.test import Client

from accounts.tests.factories import UserFactory
from billing import services
from billing.models import (
    CreditAccount,
    LedgerEntry,
    PaymentOrder,
    PaymentRefund,
    ProviderEvent,
)
from billing.simulators import WechatPaySimulator
from billing.tests.factories import CreditPackageFactory
from billing.tests.simulators import APPID, post_notification
from config.tests.concurrency import run_together


def _notify(client: Client, body: bytes, headers: dict[str, str]) -> object:
    return post_notification(client, body, headers)


def _open_order(fake: WechatPaySimulator, *, fen: int = 3500, credits: int = 500) -> PaymentOrder:
    package = CreditPackageFactory(credits=credits, prices={"CNY": fen})
    return services.create_wechat_order(UserFactory(), package_id=package.pk, trade_type="native")


def _balance(order: PaymentOrder) -> int:
    account = CreditAccount.objects.filter(user=order.user).first()
    return account.balance if account else 0


@pytest.mark.django_db
def test_native_create_returns_a_code_url_from_a_signed_request_in_fen(
    api_client, wechatpay_simulator
) -> None:
    user = UserFactory(region="cn")
    package = CreditPackageFactory(credits=500, prices={"CNY": 3500, "USD": 500})
    api_client.force_authenticate(user)

    response = api_client.post(
        "/api/payments/wechat/create", {"package_id": package.pk, "trade_type": "native"}
    )

    assert response.status_code == 201
    body = response.json()
    assert body["code_url"].startswith(f"{wechatpay_simulator.origin}/wxpay/bizpayurl?pr=")
    assert (body["amount"], body["currency"], body["status"]) == (3500, "CNY", "pending")
    order = PaymentOrder.objects.get(pk=body["id"])
    txn = wechatpay_simulator.transactions[order.out_trade_no]
    assert txn["amount"] == {"total": 3500, "currency": "CNY"}
    sent = json.loads(wechatpay_simulator.requests[0]["body"])
    assert sent["time_expire"].endswith("+08:00")
    assert datetime.fromisoformat(sent["time_expire"]) == order.expires_at.replace(microsecond=0)
    assert sent["notify_url"] == "https://animate.example.com/api/payments/webhook/wechat"
    assert wechatpay_simulator.rejected_signatures == 0
    assert not LedgerEntry.objects.exists()


@pytest.mark.django_db
def test_jsapi_create_returns_bridge_parameters_signed_with_the_merchant_key(
    api_client, wechatpay_simulator
) -> None:
    package = CreditPackageFactory(prices={"CNY": 3500})
    api_client.force_authenticate(UserFactory())

    response = api_client.post(
        "/api/payments/wechat/create",
        {"package_id": package.pk, "trade_type": "jsapi", "openid": "o-abc"},
    )

    assert response.status_code == 201
    params = response.json()["jsapi_params"]
    assert params["appId"] == APPID and params["signType"] == "RSA"
    assert params["package"].startswith("prepay_id=wx")
    message = f"{APPID}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    wechatpay_simulator.merchant_key.public_key().verify(
        base64.b64decode(params["paySign"]), message.encode(), padding.PKCS1v15(), hashes.SHA256()
    )


@pytest.mark.django_db
def test_jsapi_without_openid_is_a_validation_error_and_calls_nobody(
    api_client, wechatpay_simulator
) -> None:
    package = CreditPackageFactory(prices={"CNY": 3500})
    api_client.force_authenticate(UserFactory())

    response = api_client.post(
        "/api/payments/wechat/create", {"package_id": package.pk, "trade_type": "jsapi"}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "openid"
    assert wechatpay_simulator.requests == []
    assert not PaymentOrder.objects.exists()


@pytest.mark.django_db
def test_h5_create_returns_an_h5_url_that_comes_back_to_the_payment(
    api_client, wechatpay_simulator, settings
) -> None:
    package = CreditPackageFactory(prices={"CNY": 3500})
    api_client.force_authenticate(UserFactory())

    response = api_client.post(
        "/api/payments/wechat/create", {"package_id": package.pk, "trade_type": "h5"}
    )

    assert response.status_code == 201
    payment = response.json()
    assert payment["h5_url"].startswith(
        f"{wechatpay_simulator.origin}/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx"
    )
    back = f"{settings.SITE_URL}/credits/return?payment={payment['id']}"
    assert payment["h5_url"].endswith("&redirect_url=" + quote_plus(back))
    sent = json.loads(wechatpay_simulator.requests[0]["body"])
    assert sent["scene_info"] == {"payer_client_ip": "127.0.0.1", "h5_info": {"type": "Wap"}}


@pytest.mark.django_db
def test_a_signed_success_notification_grants_once_however_often_it_comes(
    client, wechatpay_simulator
) -> None:
    order = _open_order(wechatpay_simulator)
    body, headers = wechatpay_simulator.notification(wechatpay_simulator.pay(order.out_trade_no))

    statuses = [_notify(client, body, headers).status_code for _ in range(3)]

    assert statuses == [204, 204, 204]
    order.refresh_from_db()
    assert order.status == "paid" and order.provider_payment_id.startswith("4200")
    assert _balance(order) == 500
    assert LedgerEntry.objects.filter(kind="purchase").count() == 1
    assert ProviderEvent.objects.get().attempts == 1


@pytest.mark.django_db
@pytest.mark.parametrize("_case", ["tampered", "probe", "stale", "unknown_serial", "unsigned"])
def test_forged_tampered_or_stale_notifications_fail_and_change_nothing(
    client, wechatpay_simulator, _case: str
) -> None:
    order = _open_order(wechatpay_simulator)
    paid = wechatpay_simulator.pay(order.out_trade_no)
    body, headers = wechatpay_simulator.notification(
        paid, timestamp=int(time.time()) - 301 if _case == "stale" else None
    )
    if _case == "tampered":
        body = body.replace(b'"summary"', b'"Summary"')
    elif _case == "probe":
        headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]
    elif _case == "unknown_serial":
        headers["Wechatpay-Serial"] = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
    elif _case == "unsigned":
        headers = {}
    calls_before = len(wechatpay_simulator.requests)

    response = _notify(client, body, headers)

    assert response.status_code == 400
    assert response.json()["code"] == "FAIL"
    assert len(wechatpay_simulator.requests) == calls_before
    assert not ProviderEvent.objects.exists()
    assert not LedgerEntry.objects.exists()
    assert PaymentOrder.objects.get().status == "pending"


@pytest.mark.django_db
@pytest.mark.parametrize("_case", ["amount", "mchid"])
def test_a_notification_that_contradicts_the_order_is_refused(
    client, wechatpay_simulator, _case: str
) -> None:
    order = _open_order(wechatpay_simulator, fen=3500)
    resource = dict(wechatpay_simulator.pay(order.out_trade_no))
    if _case == "amount":
        resource["amount"] = {**resource["amount"], "total": 1}
    else:
        resource["mchid"] = "1900009999"
    body, headers = wechatpay_simulator.notification(resource)

    response = _notify(client, body, headers)

    assert response.status_code == 400
    assert response.json()["code"] == "FAIL"
    assert ProviderEvent.objects.get().status == "failed"
    assert PaymentOrder.objects.get().status == "pending"
    assert not LedgerEntry.objects.exists()


@pytest.mark.django_db
def test_non_success_notifications_are_acknowledged_without_credits(
    client, wechatpay_simulator
) -> None:
    order = _open_order(wechatpay_simulator)
    body, headers = wechatpay_simulator.notification(
        wechatpay_simulator.transactions[order.out_trade_no], event_type="TRANSACTION.CLOSED"
    )

    response = _notify(client, body, headers)

    assert response.status_code == 204
    assert ProviderEvent.objects.get().status == "ignored"
    assert not LedgerEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_notifications_grant_once(wechatpay_simulator) -> None:
    order = _open_order(wechatpay_simulator)
    paid = wechatpay_simulator.pay(order.out_trade_no)
    first = wechatpay_simulator.notification(paid)
    retry = wechatpay_simulator.notification(paid, event_id=None)
    statuses = run_together(
        8, lambda n: _notify(Client(), *(first if n % 2 else retry)).status_code
    )

    assert statuses == [204] * 8
    assert _balance(order) == 500
    assert LedgerEntry.objects.filter(kind="purchase").count() == 1
    assert ProviderEvent.objects.count() == 2


@pytest.mark.django_db
def test_same_idempotency_key_opens_one_wechat_transaction(api_client, wechatpay_simulator) -> None:
    package = CreditPackageFactory(prices={"CNY": 3500})
    api_client.force_authenticate(UserFactory())
    body = {"package_id": package.pk, "trade_type": "native"}

    first = api_client.post("/api/payments/wechat/create", body, HTTP_IDEMPOTENCY_KEY="k")
    second = api_client.post("/api/payments/wechat/create", body, HTTP_IDEMPOTENCY_KEY="k")

    assert first.json()["id"] == second.json()["id"]
    assert first.json()["code_url"] == second.json()["code_url"]
    assert len(wechatpay_simulator.transactions) == 1


@pytest.mark.django_db
def test_partial_refund_notifications_take_credits_back_in_proportion_once_each(
    client, wechatpay_simulator
) -> None:
    # given a paid order of 500 credits for 3500 fen
    order = _open_order(wechatpay_simulator, fen=3500, credits=500)
    _notify(client, *wechatpay_simulator.notification(wechatpay_simulator.pay(order.out_trade_no)))
    first = wechatpay_simulator.refund_resource(order.out_trade_no, refund_fen=1000)
    rest = wechatpay_simulator.refund_resource(order.out_trade_no, refund_fen=2500)

    # when 1000 fen are refunded (notified twice), then the other 2500 fen
    responses = [
        _notify(client, *wechatpay_simulator.notification(first, event_type="REFUND.SUCCESS")),
        _notify(client, *wechatpay_simulator.notification(first, event_type="REFUND.SUCCESS")),
    ]
    after_first = (PaymentOrder.objects.get().status, _balance(order))
    responses.append(
        _notify(client, *wechatpay_simulator.notification(rest, event_type="REFUND.SUCCESS"))
    )

    # then each refund took its share of the credits once, rounded up, and the order ends refunded
    assert [r.status_code for r in responses] == [204, 204, 204]
    assert after_first == ("paid", 357)
    assert PaymentOrder.objects.get().status == "refunded"
    assert list(LedgerEntry.objects.order_by("id").values_list("kind", "amount")) == [
        ("purchase", 500),
        ("refund", -143),
        ("refund", -357),
    ]
    assert list(
        PaymentRefund.objects.order_by("created_at").values_list("amount", "credits", "status")
    ) == [(1000, 143, "succeeded"), (2500, 357, "succeeded")]
    assert _balance(order) == 0


@pytest.mark.django_db
def test_a_refund_notice_that_overtakes_its_payment_is_retried_not_lost(
    client, wechatpay_simulator
) -> None:
    # given a refund notice that arrives before the payment's
    order = _open_order(wechatpay_simulator, credits=500)
    paid = wechatpay_simulator.notification(wechatpay_simulator.pay(order.out_trade_no))
    refunded = wechatpay_simulator.notification(
        wechatpay_simulator.refund_resource(order.out_trade_no), event_type="REFUND.SUCCESS"
    )

    early = _notify(client, *refunded)
    assert (early.status_code, early.json()["code"]) == (409, "FAIL")
    assert not PaymentRefund.objects.exists()

    # when the payment's notice comes, then WeChat retries the refund's
    _notify(client, *paid)
    retried = _notify(client, *refunded)

    # then the credits were granted and taken back, each once
    assert retried.status_code == 204
    assert PaymentOrder.objects.get().status == "refunded"
    assert list(LedgerEntry.objects.order_by("id").values_list("kind", "amount")) == [
        ("purchase", 500),
        ("refund", -500),
    ]


@pytest.mark.django_db
def test_one_idempotency_key_sent_to_both_providers_opens_one_order_each(
    api_client, wechatpay_simulator, stripe_simulator
) -> None:
    package = CreditPackageFactory(prices={"CNY": 3500, "USD": 500})
    api_client.force_authenticate(UserFactory())

    wechat = api_client.post(
        "/api/payments/wechat/create",
        {"package_id": package.pk, "trade_type": "native"},
        HTTP_IDEMPOTENCY_KEY="k",
    )
    stripe = api_client.post(
        "/api/payments/stripe/create", {"package_id": package.pk}, HTTP_IDEMPOTENCY_KEY="k"
    )

    assert (wechat.json()["provider"], stripe.json()["provider"]) == ("wechat", "stripe")
    assert PaymentOrder.objects.count() == 2


@pytest.mark.django_db
def test_a_repeat_while_wechat_is_still_answering_gets_the_same_code_url(
    api_client, wechatpay_simulator
) -> None:
    # given a first request whose order is committed but whose WeChat answer is not
    # recorded yet (it is still in flight)
    package = CreditPackageFactory(prices={"CNY": 3500})
    api_client.force_authenticate(UserFactory())
    body = {"package_id": package.pk, "trade_type": "native"}
    first = api_client.post("/api/payments/wechat/create", body, HTTP_IDEMPOTENCY_KEY="k").json()
    PaymentOrder.objects.filter(pk=first["id"]).update(code_url="")

    # when the repeat arrives
    second = api_client.post("/api/payments/wechat/create", body, HTTP_IDEMPOTENCY_KEY="k")

    # then it asks WeChat again for the same out_trade_no and answers with the same QR code
    assert second.status_code == 201
    assert (second.json()["id"], second.json()["code_url"]) == (first["id"], first["code_url"])
    assert len(wechatpay_simulator.transactions) == 1
    assert [r["path"] for r in wechatpay_simulator.requests] == ["/v3/pay/transactions/native"] * 2
    assert PaymentOrder.objects.get().code_url == first["code_url"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_refund_notices_take_each_refunds_credits_once(wechatpay_simulator) -> None:
    # given a paid order and two partial refunds, each notified three times at once
    order = _open_order(wechatpay_simulator, fen=3500, credits=500)
    _notify(
        Client(), *wechatpay_simulator.notification(wechatpay_simulator.pay(order.out_trade_no))
    )
    refunds = [
        wechatpay_simulator.refund_resource(order.out_trade_no, refund_fen=1000),
        wechatpay_simulator.refund_resource(order.out_trade_no, refund_fen=2500),
    ]
    notices = [
        wechatpay_simulator.notification(refunds[n % 2], event_type="REFUND.SUCCESS")
        for n in range(6)
    ]

    statuses = run_together(6, lambda n: _notify(Client(), *notices[n]).status_code)

    # then the credits went back once per refund and the order is refunded
    assert statuses == [204] * 6
    assert PaymentRefund.objects.count() == 2
    assert sorted(LedgerEntry.objects.filter(kind="refund").values_list("amount", flat=True)) in (
        [-357, -143],
        [-358, -142],
    )
    assert _balance(order) == 0
    assert PaymentOrder.objects.get().status == "refunded"
