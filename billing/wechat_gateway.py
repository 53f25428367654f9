"""The one place that talks to WeChat Pay v3, through the real ``wechatpayv3``.

Public-key mode only (``WECHATPAY_PUBLIC_KEY`` + ``WECHATPAY_PUBLIC_KEY_ID``): the
client is built without any network call and verifies every response and
notification with that key. The library hard-codes its gateway, so
``WECHATPAY_GATEWAY`` is set on its core after construction (the embedded mode
and the tests point it at the WeChat Pay simulator). Failures are classified
here once: callers see ``PaymentProviderUnavailable`` or ``InvalidSignature``,
never a library error.

``wechatpayv3`` is imported by the calls that use it: a web worker that takes no
payment never loads it.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import requests
from django.conf import settings

from billing.errors import (
    InvalidSignature,
    PaymentProviderNotConfigured,
    PaymentProviderUnavailable,
)

if TYPE_CHECKING:
    from wechatpayv3 import WeChatPay

BEIJING = ZoneInfo("Asia/Shanghai")
# Ours, each the name of a ``wechatpayv3.WeChatPayType`` in lower case.
TRADE_TYPES = ("native", "jsapi", "h5")


def is_configured() -> bool:
    """Whether this deployment has every WeChat Pay credential public-key mode needs."""
    return all(
        [
            settings.WECHATPAY_MCHID,
            settings.WECHATPAY_APPID,
            settings.WECHATPAY_PRIVATE_KEY,
            settings.WECHATPAY_CERT_SERIAL_NO,
            settings.WECHATPAY_APIV3_KEY,
            settings.WECHATPAY_PUBLIC_KEY,
            settings.WECHATPAY_PUBLIC_KEY_ID,
        ]
    )


def _client() -> WeChatPay:
    from wechatpayv3 import WeChatPay, WeChatPayType

    if not is_configured():
        raise PaymentProviderNotConfigured("WeChat Pay is not configured.")
    client = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid=settings.WECHATPAY_MCHID,
        private_key=settings.WECHATPAY_PRIVATE_KEY,
        cert_serial_no=settings.WECHATPAY_CERT_SERIAL_NO,
        appid=settings.WECHATPAY_APPID,
        apiv3_key=settings.WECHATPAY_APIV3_KEY,
        notify_url=settings.WECHATPAY_NOTIFY_URL,
        timeout=(5, 15),
        public_key=settings.WECHATPAY_PUBLIC_KEY,
        public_key_id=settings.WECHATPAY_PUBLIC_KEY_ID,
    )
    client._core._gate_way = settings.WECHATPAY_GATEWAY.rstrip("/")
    return client


def ensure_configured() -> None:
    """Refuse (503 ``payment_provider_not_configured``) before an order is opened
    for a provider this deployment has no credentials for."""
    _client()


def _call(fn: Any, *, missing_ok: bool = False, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    try:
        status, body = fn(**kwargs)
    except requests.RequestException as exc:
        raise PaymentProviderUnavailable(internal=f"WeChat Pay: {exc}") from exc
    except Exception as exc:  # the library raises bare Exception on a bad response signature
        raise PaymentProviderUnavailable(internal=f"WeChat Pay: {exc}") from exc
    data = json.loads(body) if isinstance(body, str) and body else {}
    if status == 404 and missing_ok:
        return status, {}
    if not 200 <= status < 300:
        raise PaymentProviderUnavailable(
            internal=f"WeChat Pay answered {status}: "
            f"{data.get('code', '')} {data.get('message', '')}".strip()
        )
    return status, data


def create_transaction(
    *,
    trade_type: str,
    out_trade_no: str,
    description: str,
    total_fen: int,
    expires_at: datetime,
    openid: str = "",
    client_ip: str = "",
    return_url: str = "",
) -> dict[str, Any]:
    """Open a transaction and return what the client needs: ``code_url`` (native),
    ``h5_url`` (h5, with ``return_url`` appended as the ``redirect_url`` WeChat's
    cashier sends the browser back to) or ``jsapi_params`` for the WeChat JS
    bridge (jsapi), signed with the merchant key."""
    from wechatpayv3 import WeChatPayType

    client = _client()
    kwargs: dict[str, Any] = {
        "description": description,
        "out_trade_no": out_trade_no,
        "amount": {"total": total_fen, "currency": "CNY"},
        # RFC 3339 in Beijing time, the form WeChat's documentation shows.
        "time_expire": expires_at.astimezone(BEIJING).isoformat(timespec="seconds"),
        "pay_type": WeChatPayType[trade_type.upper()],
    }
    if trade_type == "jsapi":
        kwargs["payer"] = {"openid": openid}
    if trade_type == "h5":
        kwargs["scene_info"] = {"payer_client_ip": client_ip, "h5_info": {"type": "Wap"}}
    _status, data = _call(client.pay, **kwargs)
    if trade_type == "native":
        return {"code_url": data["code_url"]}
    if trade_type == "h5":
        h5_url = data["h5_url"]
        if return_url:
            h5_url += ("&" if "?" in h5_url else "?") + urlencode({"redirect_url": return_url})
        return {"h5_url": h5_url}
    package = f"prepay_id={data['prepay_id']}"
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(16)
    pay_sign = client.sign([settings.WECHATPAY_APPID, timestamp, nonce, package])
    return {
        "jsapi_params": {
            "appId": settings.WECHATPAY_APPID,
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": pay_sign,
        }
    }


def query_transaction(out_trade_no: str) -> dict[str, Any]:
    """The transaction as WeChat Pay has it now, shaped like a decrypted notification."""
    return _call(_client().query, out_trade_no=out_trade_no)[1]


def close_transaction(out_trade_no: str) -> None:
    """Close an unpaid transaction so it can no longer be paid (WeChat answers 204)."""
    _call(_client().close, out_trade_no=out_trade_no)


def create_refund(
    *, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int
) -> dict[str, Any]:
    """Refund ``refund_fen`` of a transaction; ``out_refund_no`` is our key, so asking
    twice refunds once. The answer's ``status`` is usually ``PROCESSING``."""
    return _call(
        _client().refund,
        out_refund_no=out_refund_no,
        out_trade_no=out_trade_no,
        amount={"refund": refund_fen, "total": total_fen, "currency": "CNY"},
    )[1]


def query_refund(out_refund_no: str) -> dict[str, Any] | None:
    """The refund as WeChat Pay has it now (``status``: SUCCESS, PROCESSING, CLOSED,
    ABNORMAL), or None when WeChat never received it."""
    status, data = _call(_client().query_refund, missing_ok=True, out_refund_no=out_refund_no)
    return None if status == 404 else data


def verify_notification(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The notification with its ``resource`` decrypted, once the ``Wechatpay-*``
    headers prove it was signed with WeChat Pay's public key within the replay
    window; ``invalid_signature`` otherwise (signature probes included)."""
    client = _client()
    lowered = {k.lower(): v for k, v in headers.items()}
    serial = lowered.get("wechatpay-serial", "")
    signature = lowered.get("wechatpay-signature", "")
    try:
        timestamp = int(lowered.get("wechatpay-timestamp", ""))
    except ValueError as exc:
        raise InvalidSignature() from exc
    # An unknown serial would make the library download certificates; we only
    # trust the configured public key.
    if serial != settings.WECHATPAY_PUBLIC_KEY_ID or not signature:
        raise InvalidSignature()
    if signature.startswith("WECHATPAY/SIGNTEST/"):
        raise InvalidSignature("Signature probe.")
    if abs(time.time() - timestamp) > settings.WECHATPAY_NOTIFY_WINDOW_SECONDS:
        raise InvalidSignature("The notification is outside the replay window.")
    try:
        result = client.callback(headers=lowered, body=body)
    except Exception as exc:  # the library raises bare Exception on bad headers
        raise InvalidSignature() from exc
    if not result or not isinstance(result.get("resource"), dict) or not result.get("id"):
        raise InvalidSignature()
    return result
