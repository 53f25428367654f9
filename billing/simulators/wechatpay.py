"""A local WeChat Pay v3 gateway (direct merchant, public-key mode), its pay
pages and its signed, encrypted notifications, for ``make run`` and the tests.

Requests must carry a valid ``WECHATPAY2-SHA256-RSA2048`` Authorization made
with the merchant's private key (checked with its public half, the serial and
the timestamp window, else 401 ``SIGN_ERROR``). Every answer, errors and 204s
included, is signed with the platform key and names ``Wechatpay-Serial: <public
key id>``, so ``wechatpayv3`` verifies it unmodified (its gateway set to the
simulator's origin).

- ``POST /v3/pay/transactions/native|h5|jsapi`` answer ``code_url`` / ``h5_url`` /
  ``prepay_id``; the same ``out_trade_no`` with the same parameters answers the
  same, with others ``OUT_TRADE_NO_USED``; a paid or closed one is refused.
- ``GET /v3/pay/transactions/out-trade-no/{no}`` and ``/id/{transaction_id}``,
  ``POST .../out-trade-no/{no}/close`` (204), ``POST /v3/refund/domestic/refunds``
  (``PROCESSING``; the same ``out_refund_no`` answers the same refund),
  ``GET /v3/refund/domestic/refunds/{out_refund_no}``.
- ``code_url`` and ``h5_url`` are pages on the simulator with a "Pay" button
  (``h5_url`` then goes to the ``redirect_url`` appended to it, as WeChat's H5
  cashier does); ``/jsapi?prepay_id=`` stands in for the JS bridge.
- Paying sends ``TRANSACTION.SUCCESS`` to the order's ``notify_url``: the resource
  AES-256-GCM-encrypted with the APIv3 key, the body signed with the platform
  key, re-signed and retried on WeChat's schedule until a 2xx. A refund settles
  ``refund_settle_seconds`` later (or on ``settle_refund``) and notifies
  ``REFUND.SUCCESS`` / ``REFUND.CLOSED`` / ``REFUND.ABNORMAL``.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from billing.simulators.base import (
    DeliveryKnobs,
    Request,
    Response,
    Simulator,
    SimulatorError,
    escape,
)
from billing.simulators.keys import WechatPayKeys

BEIJING = ZoneInfo("Asia/Shanghai")
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
# WeChat's documented notification schedule: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h.
RETRY_DELAYS = (
    15,
    15,
    30,
    180,
    600,
    1200,
    1800,
    1800,
    1800,
    3600,
    10800,
    10800,
    10800,
    21600,
    21600,
)
OUT_TRADE_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")
OUT_REFUND_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")
TRADE_TYPES = {"native": "NATIVE", "h5": "H5", "jsapi": "JSAPI"}
PAYABLE = {"NOTPAY", "USERPAYING"}


def beijing_time(ts: float | None = None) -> str:
    """RFC 3339 in Beijing time, as WeChat writes every time."""
    return datetime.fromtimestamp(time.time() if ts is None else ts, BEIJING).isoformat(
        timespec="seconds"
    )


class WechatError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "message": message}


@dataclass
class WechatPayKnobs(DeliveryKnobs):
    retry_delays: tuple[float, ...] = tuple(float(s) for s in RETRY_DELAYS)
    # Seconds after which a PROCESSING refund settles to refund_outcome and is
    # notified; None leaves refunds PROCESSING until settle_refund().
    refund_settle_seconds: float | None = 1.0
    refund_outcome: str = "SUCCESS"
    # Seconds a request's Authorization timestamp may differ from now.
    signature_window: float = 300.0


class WechatPaySimulator(Simulator):
    knobs: WechatPayKnobs
    server_version = "WechatPaySimulator/1.0"

    def __init__(self, keys: WechatPayKeys, *, port: int = 0, **knobs: Any) -> None:
        super().__init__(WechatPayKnobs(), port=port)
        self.keys = keys
        self.configure(**knobs)
        self.merchant_key: rsa.RSAPrivateKey = _load(keys.merchant_private_key)
        self.platform_key: rsa.RSAPrivateKey = _load(keys.platform_private_key)
        # The transactions as a query shows them, by out_trade_no.
        self.transactions: dict[str, dict[str, Any]] = {}
        # The prepay answer of each, and what the merchant sent (notify_url...).
        self.prepays: dict[str, dict[str, str]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.refunds: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        # Every API request as received: method, path (with query), raw body.
        self.requests: list[dict[str, Any]] = []
        self.rejected_signatures = 0
        self._tokens: dict[str, str] = {}
        self._refund_extra: dict[str, dict[str, Any]] = {}

    # -- what happens on WeChat's side (pay pages, tests, /__sim__) -----------------
    def pay(self, out_trade_no: str, *, openid: str | None = None) -> dict[str, Any]:
        """The payer pays: the transaction succeeds and ``TRANSACTION.SUCCESS`` is
        sent to its notify_url. Returns the transaction."""
        with self.lock:
            txn = self._payable(out_trade_no)
            asked = self.orders[out_trade_no]["request"].get("payer") or {}
            payer = openid or asked.get("openid") or "o" + secrets.token_hex(14)
            txn.update(
                trade_state="SUCCESS",
                trade_state_desc="支付成功",
                transaction_id="4200" + _digits(24),
                bank_type="OTHERS",
                success_time=beijing_time(),
                payer={"openid": payer},
                amount={
                    "total": txn["amount"]["total"],
                    "payer_total": txn["amount"]["total"],
                    "currency": txn["amount"].get("currency", "CNY"),
                    "payer_currency": "CNY",
                },
            )
            self.send(self.orders[out_trade_no]["notify_url"], txn, "TRANSACTION.SUCCESS")
            return txn

    def decline(self, out_trade_no: str) -> dict[str, Any]:
        """The payment fails at the bank (``PAYERROR``); WeChat notifies nothing."""
        with self.lock:
            txn = self._payable(out_trade_no)
            txn.update(trade_state="PAYERROR", trade_state_desc="支付失败,请重新下单支付")
            return txn

    def settle_refund(self, out_refund_no: str, status: str = "SUCCESS") -> dict[str, Any]:
        """A PROCESSING refund becomes SUCCESS, CLOSED or ABNORMAL and is notified."""
        with self.lock:
            refund = next((r for r in self.refunds if r["out_refund_no"] == out_refund_no), None)
            if refund is None or refund["status"] != "PROCESSING":
                raise SimulatorError(f"No refund {out_refund_no} is processing.")
            refund["status"] = status
            if status == "SUCCESS":
                refund["success_time"] = beijing_time()
            extra = self._refund_extra[out_refund_no]
            extra["due"] = None
            resource = self.refund_resource(
                refund["out_trade_no"],
                refund_fen=refund["amount"]["refund"],
                out_refund_no=out_refund_no,
                status=status,
            )
            self.send(extra["notify_url"], resource, f"REFUND.{status}")
            return refund

    def refund_resource(
        self,
        out_trade_no: str,
        *,
        refund_fen: int | None = None,
        out_refund_no: str | None = None,
        status: str = "SUCCESS",
    ) -> dict[str, Any]:
        """A refund notification's resource for a paid transaction (full by default):
        of a refund asked for here (its ``out_refund_no``) or of one made elsewhere."""
        with self.lock:
            txn = self.transactions[out_trade_no]
            asked = next((r for r in self.refunds if r["out_refund_no"] == out_refund_no), None)
        total = txn["amount"]["total"]
        refund = total if refund_fen is None else refund_fen
        return {
            "mchid": txn["mchid"],
            "out_trade_no": out_trade_no,
            "transaction_id": txn["transaction_id"],
            "out_refund_no": out_refund_no or f"R{secrets.token_hex(12)}",
            "refund_id": asked["refund_id"] if asked else "50" + _digits(30),
            "refund_status": status,
            "success_time": beijing_time(),
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": total,
                "refund": refund,
                "payer_total": total,
                "payer_refund": refund,
            },
        }

    def signed_headers(
        self, body: str, *, timestamp: int | None = None, key: rsa.RSAPrivateKey | None = None
    ) -> dict[str, str]:
        """``Wechatpay-*`` headers over ``body`` as WeChat sends them (platform key)."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = secrets.token_hex(16)
        signature = (key or self.platform_key).sign(
            f"{ts}\n{nonce}\n{body}\n".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        return {
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": base64.b64encode(signature).decode(),
            "Wechatpay-Serial": self.keys.public_key_id,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        }

    def notification(
        self,
        resource: dict[str, Any],
        *,
        event_type: str = "TRANSACTION.SUCCESS",
        timestamp: int | None = None,
        event_id: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A notification body (the resource encrypted with the APIv3 key) and its
        signed headers, exactly as WeChat POSTs it (not recorded or sent)."""
        body = self._envelope(resource, event_type, event_id)
        return body.encode(), self.signed_headers(body, timestamp=timestamp)

    def send(self, url: str, resource: dict[str, Any], event_type: str) -> None:
        """Record a notification and deliver it to ``url``, re-signed at each attempt."""
        body = self._envelope(resource, event_type, None)
        event_id = json.loads(body)["id"]
        self.notifications.append(
            {
                "id": event_id,
                "event_type": event_type,
                "url": url,
                "resource": copy.deepcopy(resource),
            }
        )

        def build() -> tuple[bytes, dict[str, str]]:
            return body.encode(), {
                "Content-Type": "application/json",
                "User-Agent": "Mozilla/4.0",
                **self.signed_headers(body),
            }

        self.notify(event_id=event_id, url=url, build=build)

    def _envelope(self, resource: dict[str, Any], event_type: str, event_id: str | None) -> str:
        nonce = secrets.token_hex(6)  # 12 characters, WeChat's nonce length
        original_type = "refund" if event_type.startswith("REFUND.") else "transaction"
        ciphertext = AESGCM(self.keys.apiv3_key.encode()).encrypt(
            nonce.encode(),
            json.dumps(resource, ensure_ascii=False).encode(),
            original_type.encode(),
        )
        summary = {"TRANSACTION.SUCCESS": "支付成功", "REFUND.SUCCESS": "退款成功"}
        return json.dumps(
            {
                "id": event_id or str(_uuid()),
                "create_time": beijing_time(),
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": summary.get(event_type, "退款状态变更"),
                "resource": {
                    "original_type": original_type,
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(ciphertext).decode(),
                    "associated_data": original_type,
                    "nonce": nonce,
                },
            },
            ensure_ascii=False,
        )

    def tick(self, now: float) -> None:
        for out_refund_no, extra in self._refund_extra.items():
            if extra["due"] is not None and extra["due"] <= now:
                self.settle_refund(out_refund_no, self.knobs.refund_outcome)

    def _payable(self, out_trade_no: str) -> dict[str, Any]:
        txn = self.transactions.get(out_trade_no)
        if txn is None:
            raise SimulatorError("订单不存在 (no such order).")
        if txn["trade_state"] not in PAYABLE:
            raise SimulatorError(f"This order cannot be paid: {txn['trade_state_desc']}.")
        if self.orders[out_trade_no]["expires"] <= time.time():
            raise SimulatorError("This order has expired.")
        return txn

    # -- the HTTP surface ------------------------------------------------------------
    def route(self, request: Request) -> Response:
        if request.path.startswith("/v3/"):
            return self._api(request)
        return self._page(request)

    def state(self) -> dict[str, Any]:
        return {
            "transactions": list(self.transactions.values()),
            "refunds": self.refunds,
            "notifications": self.notifications,
        }

    def actions(self, request: Request) -> dict[tuple[str, str], Callable[[str], Any]]:
        """``/__sim__/transactions/{out_trade_no}/pay|decline``;
        ``/__sim__/refunds/{out_refund_no}/settle`` with ``{"status": "SUCCESS"|...}``."""
        return {
            ("transactions", "pay"): self.pay,
            ("transactions", "decline"): self.decline,
            ("refunds", "settle"): lambda ident: self.settle_refund(
                ident, str(request.json().get("status", "SUCCESS"))
            ),
        }

    def _api(self, request: Request) -> Response:
        if self.knobs.delay:
            time.sleep(self.knobs.delay)
        raw = request.body.decode()
        data: dict[str, Any] | None
        with self.lock:
            self.requests.append({"method": request.method, "path": request.target, "body": raw})
            failure = self._take_failure()
            if failure is not None:
                code = "SYSTEM_ERROR" if failure >= 500 else "INVALID_REQUEST"
                status, data = failure, {"code": code, "message": "Injected failure."}
            elif not self._verify(request, raw):
                self.rejected_signatures += 1
                status, data = 401, {"code": "SIGN_ERROR", "message": "签名错误"}
            else:
                try:
                    status, data = self._dispatch_api(request, json.loads(raw) if raw else {})
                except WechatError as exc:
                    status, data = exc.status, exc.body
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    status, data = 400, {"code": "PARAM_ERROR", "message": f"参数错误: {exc}"}
        text = json.dumps(data, ensure_ascii=False) if data is not None else ""
        headers = {**self.signed_headers(text), "Request-ID": _uuid()}
        content_type = "application/json; charset=utf-8" if text else ""
        return Response(status, text.encode(), content_type, headers)

    def _verify(self, request: Request, raw: str) -> bool:
        scheme, _, params = request.headers.get("Authorization", "").partition(" ")
        if scheme != SIGNATURE_TYPE:
            return False
        try:
            fields = {
                k.strip(): v.strip().strip('"')
                for k, v in (part.split("=", 1) for part in params.split(","))
            }
            timestamp = int(fields["timestamp"])
            message = (
                f"{request.method}\n{request.target}\n{fields['timestamp']}\n"
                f"{fields['nonce_str']}\n{raw}\n"
            )
            signature = base64.b64decode(fields["signature"])
        except (KeyError, ValueError):
            return False
        if fields.get("mchid") != self.keys.mchid:
            return False
        if fields.get("serial_no") != self.keys.merchant_serial:
            return False
        if abs(time.time() - timestamp) > self.knobs.signature_window:
            return False
        try:
            self.merchant_key.public_key().verify(
                signature, message.encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            return False
        return True

    def _dispatch_api(
        self, request: Request, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None]:
        method, parts = request.method, request.path.strip("/").split("/")
        if method == "POST" and parts[:3] == ["v3", "pay", "transactions"] and len(parts) == 4:
            if parts[3] not in TRADE_TYPES:
                raise WechatError(404, "NOT_FOUND", "无效的请求地址")
            return 200, self._create(TRADE_TYPES[parts[3]], body)
        if parts[:4] == ["v3", "pay", "transactions", "out-trade-no"] and len(parts) >= 5:
            txn = self.transactions.get(parts[4])
            if txn is None:
                raise WechatError(404, "ORDER_NOT_EXIST", "订单不存在")
            if method == "GET" and len(parts) == 5:
                self._check_mchid(request.param("mchid"))
                return 200, txn
            if method == "POST" and parts[5:] == ["close"]:
                self._check_mchid(body.get("mchid"))
                if txn["trade_state"] in {"SUCCESS", "REFUND"}:
                    raise WechatError(400, "ORDERPAID", "订单已支付")
                txn.update(trade_state="CLOSED", trade_state_desc="已关闭")
                return 204, None
        if method == "GET" and parts[:4] == ["v3", "pay", "transactions", "id"] and len(parts) == 5:
            self._check_mchid(request.param("mchid"))
            found = next(
                (t for t in self.transactions.values() if t.get("transaction_id") == parts[4]),
                None,
            )
            if found is None:
                raise WechatError(404, "ORDER_NOT_EXIST", "订单不存在")
            return 200, found
        if parts[:4] == ["v3", "refund", "domestic", "refunds"]:
            if method == "POST" and len(parts) == 4:
                return 200, self._refund(body)
            if method == "GET" and len(parts) == 5:
                refund = next((r for r in self.refunds if r["out_refund_no"] == parts[4]), None)
                if refund is None:
                    raise WechatError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
                return 200, refund
        raise WechatError(404, "NOT_FOUND", "无效的请求地址")

    def _check_mchid(self, mchid: object) -> None:
        if mchid != self.keys.mchid:
            raise WechatError(400, "PARAM_ERROR", "mchid与请求的商户号不一致")

    def _create(self, trade_type: str, body: dict[str, Any]) -> dict[str, Any]:
        self._check_mchid(body.get("mchid"))
        if body.get("appid") != self.keys.appid:
            raise WechatError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        for name in ("description", "out_trade_no", "notify_url", "amount"):
            if not body.get(name):
                raise WechatError(
                    400,
                    "PARAM_ERROR",
                    f"/body/{name} 为必填项",
                )
        out_trade_no = str(body["out_trade_no"])
        if not OUT_TRADE_NO.match(out_trade_no):
            raise WechatError(400, "PARAM_ERROR", "out_trade_no 格式错误")
        total = body["amount"].get("total")
        if not isinstance(total, int) or total <= 0:
            raise WechatError(400, "PARAM_ERROR", "amount.total 必须为正整数 (分)")
        if body["amount"].get("currency", "CNY") != "CNY":
            raise WechatError(400, "PARAM_ERROR", "amount.currency 仅支持 CNY")
        if trade_type == "JSAPI" and not (body.get("payer") or {}).get("openid"):
            raise WechatError(400, "PARAM_ERROR", "输入源“/body/payer/openid”必填")
        if trade_type == "H5":
            scene = body.get("scene_info") or {}
            if not scene.get("payer_client_ip") or not (scene.get("h5_info") or {}).get("type"):
                raise WechatError(
                    400, "PARAM_ERROR", "H5 支付需要 scene_info.payer_client_ip 和 h5_info.type"
                )
        expires = time.time() + 2 * 3600  # WeChat's default lifetime of an unpaid order
        if body.get("time_expire"):
            expires = datetime.fromisoformat(body["time_expire"]).timestamp()
            if expires <= time.time():
                raise WechatError(400, "PARAM_ERROR", "time_expire 不能早于当前时间")
        earlier = self.transactions.get(out_trade_no)
        if earlier is not None:
            if earlier["trade_state"] in {"SUCCESS", "REFUND"}:
                raise WechatError(400, "ORDERPAID", "该订单已支付")
            if earlier["trade_state"] == "CLOSED":
                raise WechatError(400, "ORDER_CLOSED", "订单已关闭")
            if self.orders[out_trade_no]["request"] != {**body, "_type": trade_type}:
                raise WechatError(400, "OUT_TRADE_NO_USED", "商户订单号重复")
            return self.prepays[out_trade_no]
        self.transactions[out_trade_no] = {
            "appid": body["appid"],
            "mchid": body["mchid"],
            "out_trade_no": out_trade_no,
            "trade_type": trade_type,
            "trade_state": "NOTPAY",
            "trade_state_desc": "订单未支付",
            "amount": {"total": total, "currency": "CNY"},
        }
        if body.get("attach"):
            self.transactions[out_trade_no]["attach"] = body["attach"]
        token = secrets.token_hex(12)
        prepay_id = "wx" + datetime.now(BEIJING).strftime("%d%H%M%S") + secrets.token_hex(13)
        self._tokens[token] = out_trade_no
        self._tokens[prepay_id] = out_trade_no
        if trade_type == "NATIVE":
            prepay = {"code_url": f"{self.origin}/wxpay/bizpayurl?pr={token}"}
        elif trade_type == "H5":
            query = urlencode({"prepay_id": prepay_id, "package": _digits(10)})
            prepay = {"h5_url": f"{self.origin}/cgi-bin/mmpayweb-bin/checkmweb?{query}"}
        else:
            prepay = {"prepay_id": prepay_id}
        self.prepays[out_trade_no] = prepay
        self.orders[out_trade_no] = {
            "request": {**body, "_type": trade_type},
            "notify_url": body["notify_url"],
            "expires": expires,
            "created": time.time(),
        }
        return prepay

    def _refund(self, body: dict[str, Any]) -> dict[str, Any]:
        out_refund_no = str(body.get("out_refund_no") or "")
        if not OUT_REFUND_NO.match(out_refund_no):
            raise WechatError(400, "PARAM_ERROR", "out_refund_no 必填: 1-64 位字母数字")
        txn = self.transactions.get(str(body.get("out_trade_no") or ""))
        if txn is None and body.get("transaction_id"):
            txn = next(
                (
                    t
                    for t in self.transactions.values()
                    if t.get("transaction_id") == body["transaction_id"]
                ),
                None,
            )
        if txn is None:
            raise WechatError(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        amount = body.get("amount") or {}
        earlier = next((r for r in self.refunds if r["out_refund_no"] == out_refund_no), None)
        if earlier is not None:
            if earlier["amount"]["refund"] != amount.get("refund"):
                raise WechatError(400, "INVALID_REQUEST", "同一退款单号的退款金额不一致")
            return earlier
        if txn["trade_state"] not in {"SUCCESS", "REFUND"}:
            raise WechatError(400, "INVALID_REQUEST", "订单未支付, 不能退款")
        total = txn["amount"]["total"]
        if amount.get("total") != total:
            raise WechatError(400, "INVALID_REQUEST", "订单金额与实际支付金额不一致")
        refunded = sum(
            r["amount"]["refund"]
            for r in self.refunds
            if r["out_trade_no"] == txn["out_trade_no"] and r["status"] != "CLOSED"
        )
        refund_fen = amount.get("refund")
        if not isinstance(refund_fen, int) or refund_fen <= 0:
            raise WechatError(400, "PARAM_ERROR", "amount.refund 必须为正整数 (分)")
        if refund_fen > total - refunded:
            raise WechatError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        refund = {
            "refund_id": "50" + _digits(30),
            "out_refund_no": out_refund_no,
            "transaction_id": txn["transaction_id"],
            "out_trade_no": txn["out_trade_no"],
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": beijing_time(),
            "status": "PROCESSING",
            "funds_account": "AVAILABLE",
            "amount": {
                "total": total,
                "refund": refund_fen,
                "payer_total": total,
                "payer_refund": refund_fen,
                "settlement_total": total,
                "settlement_refund": refund_fen,
                "discount_refund": 0,
                "currency": "CNY",
            },
            "promotion_detail": [],
        }
        self.refunds.append(refund)
        txn.update(trade_state="REFUND", trade_state_desc="转入退款")
        settle = self.knobs.refund_settle_seconds
        self._refund_extra[out_refund_no] = {
            "notify_url": body.get("notify_url") or self.orders[txn["out_trade_no"]]["notify_url"],
            "due": None if settle is None else time.time() + settle,
        }
        return refund

    # -- the pay pages -----------------------------------------------------------------
    def _page(self, request: Request) -> Response:
        path = request.path
        if request.method == "POST" and path == "/pay":
            form = request.form()
            with self.lock:
                out_trade_no = self._tokens.get(form.get("token", ""))
                if out_trade_no is None:
                    return Response.html(404, "WeChat Pay", "<h1>WeChat Pay</h1><p>订单不存在</p>")
                try:
                    self.pay(out_trade_no)
                except SimulatorError as exc:
                    return self._message(409, str(exc))
            if form.get("redirect_url"):
                return Response.redirect(form["redirect_url"])
            return self._message(200, "Payment complete. You can close this page.", "支付成功")
        pages = {
            "/wxpay/bizpayurl": "pr",
            "/cgi-bin/mmpayweb-bin/checkmweb": "prepay_id",
            "/jsapi": "prepay_id",
        }
        if request.method != "GET" or path not in pages:
            return Response.html(404, "WeChat Pay", "<h1>WeChat Pay</h1><p>Not found.</p>")
        token = request.param(pages[path])
        with self.lock:
            out_trade_no = self._tokens.get(token)
            if out_trade_no is None:
                return self._message(404, "订单不存在 (no such order).")
            txn = self.transactions[out_trade_no]
            order = self.orders[out_trade_no]
            if txn["trade_state"] not in PAYABLE:
                return self._message(409, f"This order cannot be paid: {txn['trade_state_desc']}.")
            if order["expires"] <= time.time():
                return self._message(409, "This order has expired.")
            description = order["request"]["description"]
            fen = txn["amount"]["total"]
        redirect = request.param("redirect_url")
        return Response.html(
            200,
            "WeChat Pay",
            "<h1>WeChat Pay</h1>"
            f"<p>{escape(description)}</p>"
            f"<p class='amount'>¥{fen / 100:.2f}</p>"
            "<form method='post' action='/pay'>"
            f"<input type='hidden' name='token' value='{escape(token)}'>"
            f"<input type='hidden' name='redirect_url' value='{escape(redirect)}'>"
            "<button class='primary' type='submit'>Pay</button></form>"
            f"<p class='note'>WeChat Pay simulator, merchant {escape(self.keys.mchid)}: "
            "no money moves.</p>",
        )

    def _message(self, status: int, message: str, heading: str = "WeChat Pay") -> Response:
        return Response.html(
            status,
            "WeChat Pay",
            f"<h1>{escape(heading)}</h1><p role='status'>{escape(message)}</p>",
        )


def _load(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _digits(length: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(length))


def _uuid() -> str:
    return str(uuid.uuid4())
