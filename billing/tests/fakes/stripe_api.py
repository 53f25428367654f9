"""A loopback fake of the parts of the Stripe API we use, spoken over real HTTP so
the real ``stripe`` library makes real requests to it, plus webhook signing
exactly as Stripe signs (``t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlparse

import pytest

from config.tests.loopback_server import LoopbackServer

API_KEY = "sk_test_" + "fake"
WEBHOOK_SECRET = "whsec_" + "loopbacktestsecret"


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Undo Stripe's form encoding: ``a[b][0][c]=v`` -> ``{"a": {"b": {"0": {"c": v}}}}``."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return root


class FakeStripe(LoopbackServer):
    def __init__(self) -> None:
        super().__init__(self._handler())
        self.sessions: dict[str, dict[str, Any]] = {}
        self.refunds: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.idempotent: dict[str, tuple[int, dict[str, Any]]] = {}
        self.fail_next: int | None = None
        # Seconds each request waits before it is answered: a slow Stripe.
        self.delay = 0.0
        # What Stripe says of a new refund: "succeeded", or "pending" for slow methods.
        self.refund_status = "succeeded"

    # What a test does on Stripe's side.

    def pay(self, session_id: str) -> dict[str, Any]:
        """The customer pays: the session completes with a PaymentIntent."""
        session = self.sessions[session_id]
        session.update(
            status="complete", payment_status="paid", payment_intent=f"pi_{secrets.token_hex(8)}"
        )
        return session

    def event(self, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"evt_{secrets.token_hex(12)}",
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": int(time.time()),
            "type": event_type,
            "livemode": False,
            "data": {"object": obj},
        }

    def charge_refunded(self, session_id: str, *, full: bool = True) -> dict[str, Any]:
        session = self.sessions[session_id]
        amount = session["amount_total"]
        return {
            "id": f"ch_{secrets.token_hex(8)}",
            "object": "charge",
            "amount": amount,
            "amount_refunded": amount if full else amount // 2,
            "refunded": full,
            "currency": session["currency"],
            "payment_intent": session["payment_intent"],
            "metadata": {"order_id": session["metadata"]["order_id"]},
        }

    # The wire.

    def _respond(self, method: str, path: str, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.fail_next is not None:
            status, self.fail_next = self.fail_next, None
            return status, {"error": {"type": "api_error", "message": "Injected failure."}}
        if method == "POST" and path == "/v1/checkout/sessions":
            session_id = f"cs_test_{secrets.token_hex(12)}"
            item = form["line_items"]["0"]
            price = item["price_data"]
            session = {
                "id": session_id,
                "object": "checkout.session",
                "mode": form["mode"],
                "url": f"https://checkout.stripe.com/c/pay/{session_id}",
                "status": "open",
                "payment_status": "unpaid",
                "amount_total": int(price["unit_amount"]) * int(item["quantity"]),
                "currency": price["currency"],
                "client_reference_id": form.get("client_reference_id"),
                "metadata": form.get("metadata", {}),
                "payment_intent": None,
                "expires_at": int(form.get("expires_at") or time.time() + 86400),
                "success_url": form["success_url"],
                "cancel_url": form["cancel_url"],
            }
            self.sessions[session_id] = session
            return 200, session
        parts = path.strip("/").split("/")
        if parts[:3] == ["v1", "checkout", "sessions"] and len(parts) >= 4:
            session = self.sessions.get(parts[3])
            if session is None:
                return 404, {
                    "error": {"type": "invalid_request_error", "message": "No such session"}
                }
            if method == "GET" and len(parts) == 4:
                return 200, session
            if method == "POST" and parts[4:] == ["expire"]:
                if session["status"] != "open":
                    return 400, {"error": {"type": "invalid_request_error", "message": "Not open."}}
                session["status"] = "expired"
                return 200, session
        if method == "POST" and path == "/v1/refunds":
            refund = {
                "id": f"re_{secrets.token_hex(8)}",
                "object": "refund",
                "amount": int(form["amount"]),
                "currency": "usd",
                "status": self.refund_status,
                "payment_intent": form["payment_intent"],
                "metadata": form.get("metadata", {}),
            }
            self.refunds.append(refund)
            return 200, refund
        if method == "GET" and parts[:2] == ["v1", "refunds"] and len(parts) == 3:
            found = next((r for r in self.refunds if r["id"] == parts[2]), None)
            if found is not None:
                return 200, found
        return 404, {"error": {"type": "invalid_request_error", "message": f"No route {path}"}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                url = urlparse(self.path)
                form = _nest(parse_qsl(raw or url.query, keep_blank_values=True))
                time.sleep(fake.delay)
                with fake.lock:
                    fake.requests.append(
                        {
                            "method": method,
                            "path": url.path,
                            "form": form,
                            "headers": dict(self.headers),
                        }
                    )
                    if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                        status, body = (
                            401,
                            {"error": {"type": "invalid_request_error", "message": "Bad key"}},
                        )
                    else:
                        key = self.headers.get("Idempotency-Key")
                        if method == "POST" and key and key in fake.idempotent:
                            status, body = fake.idempotent[key]
                        else:
                            status, body = fake._respond(method, url.path, form)
                            if method == "POST" and key:
                                fake.idempotent[key] = (status, json.loads(json.dumps(body)))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        return Handler


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


@pytest.fixture
def fake_stripe(settings) -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = fake.base_url
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_CURRENCY = "USD"
    yield fake
    fake.stop()
