"""A loopback fake of the WeChat Pay v3 gateway, and notifications built exactly
as WeChat builds them, for the real ``wechatpayv3`` client.

The test generates both key pairs: the merchant's (our requests are signed with
it and the fake verifies them) and the platform's (the fake signs every answer
and notification with it, and our client verifies them with the public key).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlparse

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from config.tests.loopback_server import LoopbackServer

MCHID = "1900000001"
APPID = "wx0000000000000001"
MERCHANT_SERIAL = "MCHSERIAL0000000001"
PUBLIC_KEY_ID = "PUB_KEY_ID_0000000000000001"
APIV3_KEY = "0123456789abcdef0123456789abcdef"


@cache
def _keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    """Generated once per test run: (merchant, platform)."""
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _sign(key: rsa.RSAPrivateKey, message: str) -> str:
    return base64.b64encode(
        key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    ).decode()


def signed_headers(
    body: str, *, timestamp: int | None = None, key: rsa.RSAPrivateKey | None = None
) -> dict[str, str]:
    """``Wechatpay-*`` headers over ``body`` as WeChat sends them (platform key)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = secrets.token_hex(16)
    return {
        "Wechatpay-Timestamp": ts,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": _sign(key or _keys()[1], f"{ts}\n{nonce}\n{body}\n"),
        "Wechatpay-Serial": PUBLIC_KEY_ID,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }


class FakeWechatPay(LoopbackServer):
    def __init__(self) -> None:
        super().__init__(self._handler())
        self.merchant_key, self.platform_key = _keys()
        self.transactions: dict[str, dict[str, Any]] = {}
        self.prepays: dict[str, dict[str, str]] = {}
        self.refunds: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.rejected_signatures = 0

    # What happens on WeChat's side.

    def pay(self, out_trade_no: str) -> dict[str, Any]:
        txn = self.transactions[out_trade_no]
        txn.update(
            trade_state="SUCCESS",
            trade_state_desc="支付成功",
            transaction_id=f"4200{secrets.randbelow(10**20):020d}",
            success_time="2026-11-25T12:00:00+08:00",
            payer={"openid": txn.get("payer", {}).get("openid") or "o-payer"},
        )
        txn["amount"] = {
            **txn["amount"],
            "payer_total": txn["amount"]["total"],
            "payer_currency": "CNY",
        }
        return txn

    def refund_resource(
        self,
        out_trade_no: str,
        *,
        refund_fen: int | None = None,
        out_refund_no: str | None = None,
        status: str = "SUCCESS",
    ) -> dict[str, Any]:
        """A refund notification's resource for a paid transaction (full by default):
        of a refund we asked for (its ``out_refund_no``) or of a new one made at WeChat."""
        txn = self.transactions[out_trade_no]
        total = txn["amount"]["total"]
        asked = next((r for r in self.refunds if r["out_refund_no"] == out_refund_no), None)
        return {
            "mchid": txn["mchid"],
            "out_trade_no": out_trade_no,
            "transaction_id": txn["transaction_id"],
            "out_refund_no": out_refund_no or f"R{secrets.token_hex(12)}",
            "refund_id": asked["refund_id"] if asked else f"5030{secrets.randbelow(10**20):020d}",
            "refund_status": status,
            "success_time": "2026-11-25T13:00:00+08:00",
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": total,
                "refund": total if refund_fen is None else refund_fen,
                "payer_total": total,
                "payer_refund": total if refund_fen is None else refund_fen,
            },
        }

    def notification(
        self,
        resource: dict[str, Any],
        *,
        event_type: str = "TRANSACTION.SUCCESS",
        timestamp: int | None = None,
        event_id: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A callback body (resource encrypted with the APIv3 key) and its headers."""
        nonce = secrets.token_hex(6)
        original_type = "refund" if event_type.startswith("REFUND.") else "transaction"
        ciphertext = AESGCM(APIV3_KEY.encode()).encrypt(
            nonce.encode(), json.dumps(resource).encode(), original_type.encode()
        )
        body = json.dumps(
            {
                "id": event_id or f"EV-{secrets.token_hex(10)}",
                "create_time": "2026-11-25T12:00:01+08:00",
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": "支付成功",
                "resource": {
                    "original_type": original_type,
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(ciphertext).decode(),
                    "associated_data": original_type,
                    "nonce": nonce,
                },
            }
        )
        return body.encode(), signed_headers(body, timestamp=timestamp)

    # The wire.

    def _verify_request(self, method: str, path: str, body: str, authorization: str) -> bool:
        scheme, _, params = authorization.partition(" ")
        if scheme != "WECHATPAY2-SHA256-RSA2048":
            return False
        fields = dict(part.split("=", 1) for part in params.split(","))
        fields = {k: v.strip('"') for k, v in fields.items()}
        if fields.get("mchid") != MCHID or fields.get("serial_no") != MERCHANT_SERIAL:
            return False
        message = f"{method}\n{path}\n{fields['timestamp']}\n{fields['nonce_str']}\n{body}\n"
        try:
            self.merchant_key.public_key().verify(
                base64.b64decode(fields["signature"]),
                message.encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            return False
        return True

    def _respond(
        self, method: str, path: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None]:
        url = urlparse(path)
        parts = url.path.strip("/").split("/")
        if method == "POST" and parts[:3] == ["v3", "pay", "transactions"] and len(parts) == 4:
            trade_type = parts[3].upper()
            if body.get("mchid") != MCHID or body.get("appid") != APPID:
                return 400, {"code": "PARAM_ERROR", "message": "mchid/appid"}
            if trade_type == "JSAPI" and not body.get("payer", {}).get("openid"):
                return 400, {"code": "PARAM_ERROR", "message": "openid required"}
            earlier = self.transactions.get(body["out_trade_no"])
            if earlier is not None:
                # WeChat answers a repeated order with the same parameters with the
                # same prepay result, and refuses one that differs.
                if earlier["amount"]["total"] != body["amount"]["total"]:
                    return 400, {"code": "OUT_TRADE_NO_USED", "message": "商户订单号重复"}
                return 200, self.prepays[body["out_trade_no"]]
            self.transactions[body["out_trade_no"]] = {
                "appid": body["appid"],
                "mchid": body["mchid"],
                "out_trade_no": body["out_trade_no"],
                "trade_type": trade_type,
                "trade_state": "NOTPAY",
                "trade_state_desc": "订单未支付",
                "amount": dict(body["amount"]),
                "payer": body.get("payer", {}),
                "time_expire": body.get("time_expire"),
            }
            self.prepays[body["out_trade_no"]] = _prepay(trade_type)
            return 200, self.prepays[body["out_trade_no"]]
        if parts[:4] == ["v3", "pay", "transactions", "out-trade-no"] and len(parts) >= 5:
            txn = self.transactions.get(parts[4])
            if txn is None:
                return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
            if method == "GET":
                return 200, txn
            if method == "POST" and parts[5:] == ["close"]:
                if txn["trade_state"] == "SUCCESS":
                    return 400, {"code": "ORDERPAID", "message": "订单已支付"}
                txn["trade_state"] = "CLOSED"
                return 204, None
        if method == "POST" and url.path == "/v3/refund/domestic/refunds":
            refund = {
                "refund_id": f"5030{secrets.randbelow(10**20):020d}",
                "out_refund_no": body["out_refund_no"],
                "out_trade_no": body.get("out_trade_no"),
                "status": "PROCESSING",
                "amount": body["amount"],
            }
            self.refunds.append(refund)
            return 200, refund
        if method == "GET" and parts[:4] == ["v3", "refund", "domestic", "refunds"]:
            asked = next((r for r in self.refunds if r["out_refund_no"] == parts[-1]), None)
            if asked is None:
                return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"}
            return 200, asked
        return 404, {"code": "NOT_FOUND", "message": url.path}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                with fake.lock:
                    fake.requests.append({"method": method, "path": self.path, "body": raw})
                    if not fake._verify_request(
                        method, self.path, raw, self.headers.get("Authorization", "")
                    ):
                        fake.rejected_signatures += 1
                        status, data = 401, {"code": "SIGN_ERROR", "message": "签名错误"}
                    else:
                        status, data = fake._respond(
                            method, self.path, json.loads(raw) if raw else {}
                        )
                text = json.dumps(data) if data is not None else ""
                self.send_response(status)
                for name, value in signed_headers(text, key=fake.platform_key).items():
                    self.send_header(name, value)
                if text:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(text.encode())))
                self.end_headers()
                if text:
                    self.wfile.write(text.encode())

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        return Handler


def _prepay(trade_type: str) -> dict[str, str]:
    if trade_type == "NATIVE":
        return {"code_url": f"weixin://wxpay/bizpayurl?pr={secrets.token_hex(4)}"}
    if trade_type == "H5":
        prepay_id = f"wx{secrets.token_hex(8)}"
        return {
            "h5_url": f"https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={prepay_id}"
        }
    return {"prepay_id": f"wx{secrets.token_hex(14)}"}


def post_notification(client: Any, body: bytes, headers: dict[str, str]) -> Any:
    """Deliver a notification to our endpoint the way WeChat does (raw body, headers)."""
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    return client.post(
        "/api/payments/webhook/wechat", body, content_type="application/json", **meta
    )


@pytest.fixture
def fake_wechatpay(settings) -> Iterator[FakeWechatPay]:
    fake = FakeWechatPay().start()
    settings.WECHATPAY_MCHID = MCHID
    settings.WECHATPAY_APPID = APPID
    settings.WECHATPAY_PRIVATE_KEY = _private_pem(fake.merchant_key)
    settings.WECHATPAY_CERT_SERIAL_NO = MERCHANT_SERIAL
    settings.WECHATPAY_APIV3_KEY = APIV3_KEY
    settings.WECHATPAY_PUBLIC_KEY = _public_pem(fake.platform_key)
    settings.WECHATPAY_PUBLIC_KEY_ID = PUBLIC_KEY_ID
    settings.WECHATPAY_GATEWAY = fake.base_url
    settings.WECHATPAY_NOTIFY_URL = "https://animate.example.com/api/payments/webhook/wechat"
    yield fake
    fake.stop()
