"""A local Stripe: the parts of the v1 API the platform uses, a hosted Checkout
page, and signed webhook deliveries, for ``make run`` and the tests.

Requests and answers have Stripe's shapes (form-encoded parameters, JSON
objects with ``object``, errors as ``{"error": {type, code, message, param}}``
with Stripe's status codes, ``Idempotency-Key`` replays), so the official
``stripe`` library talks to it unmodified with ``base_addresses={"api": ...}``.

- ``POST /v1/checkout/sessions`` (``mode=payment`` with inline ``price_data``),
  ``GET /v1/checkout/sessions[/{id}]``, ``POST /v1/checkout/sessions/{id}/expire``;
  ``GET /v1/payment_intents/{id}``; ``POST /v1/refunds``, ``GET /v1/refunds[/{id}]``;
  ``GET /v1/events[/{id}]`` (reconciliation by ``delivery_success=false``).
- A session's ``url`` opens ``/c/pay/{id}``: "Pay" completes it (a PaymentIntent
  and Charge succeed) and sends the browser to ``success_url``; "Decline" fails
  it the way a delayed payment method fails (``checkout.session.completed``
  unpaid, then ``checkout.session.async_payment_failed``) and goes to
  ``cancel_url``; "Cancel" only goes back. Open sessions expire at ``expires_at``.
- Every change emits Stripe's events; those the endpoint subscribes to
  (``enabled_events``) are POSTed to ``webhook_url`` with ``Stripe-Signature:
  t=..,v1=HMAC-SHA256(secret, "t.payload")``, re-signed and retried on non-2xx.
- Refunds succeed at once (``refund_status="succeeded"``) or stay ``pending``
  until ``settle_refund``; either way ``refund.*`` and ``charge.refunded`` follow.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

from billing.simulators.base import (
    DeliveryKnobs,
    Request,
    Response,
    Simulator,
    SimulatorError,
    escape,
)
from billing.simulators.keys import StripeKeys

API_VERSION = "2026-10-28.endive"
# Stripe retries for up to three days with an exponential back-off.
RETRY_DELAYS = (10.0, 60.0, 300.0, 1800.0, 3600.0, 3 * 3600.0, 6 * 3600.0, 12 * 3600.0, 86400.0)
MIN_EXPIRY = 30 * 60
MAX_EXPIRY = 24 * 3600
ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx"}
ZERO_DECIMAL |= {"vnd", "vuv", "xaf", "xof", "xpf"}


def stripe_signature(payload: str, secret: str, *, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends with ``payload``."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


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


def _items(value: Any) -> list[Any]:
    """An encoded list (``{"0": ..., "1": ...}``) in order."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and all(k.isdigit() for k in value):
        return [value[k] for k in sorted(value, key=int)]
    return []


class StripeError(Exception):
    def __init__(
        self, status: int, message: str, *, type: str = "invalid_request_error", **extra: str
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type, "message": message, **extra}}


def _missing(param: str) -> StripeError:
    return StripeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def _no_such(kind: str, ident: str, param: str = "id") -> StripeError:
    return StripeError(
        404 if param == "id" else 400,
        f"No such {kind}: '{ident}'",
        code="resource_missing",
        param=param,
    )


def _int(form: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    raw = form.get(name)
    if raw is None or raw == "":
        if required:
            raise _missing(name)
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise StripeError(
            400, f"Invalid integer: {raw}", code="parameter_invalid_integer", param=name
        ) from None


@dataclass
class StripeKnobs(DeliveryKnobs):
    retry_delays: tuple[float, ...] = RETRY_DELAYS
    # Where events go, and which (Stripe's endpoint setting); "*" is every event.
    webhook_url: str = ""
    enabled_events: tuple[str, ...] = ("*",)
    # What a new refund says: "succeeded", or "pending" until settle_refund().
    refund_status: str = "succeeded"
    customer_email: str = "customer@example.com"


class StripeSimulator(Simulator):
    knobs: StripeKnobs
    server_version = "StripeSimulator/1.0"

    def __init__(self, keys: StripeKeys, *, port: int = 0, **knobs: Any) -> None:
        super().__init__(StripeKnobs(), port=port)
        self.keys = keys
        self.configure(**knobs)
        self.sessions: dict[str, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        # Every API request as received: method, path, nested form, headers.
        self.requests: list[dict[str, Any]] = []
        self._idempotent: dict[str, tuple[str, int, dict[str, Any]]] = {}
        # What Stripe keeps of a session but does not show: line items, PaymentIntent data.
        self._session_extra: dict[str, dict[str, Any]] = {}

    # -- what happens on Stripe's side (the hosted page, tests, /__sim__) ----------
    def checkout_url(self, session_id: str) -> str:
        return f"{self.origin}/c/pay/{session_id}"

    def pay(self, session_id: str) -> dict[str, Any]:
        """The customer pays an open session by card: it completes, paid, with a
        succeeded PaymentIntent and Charge. Returns the session."""
        with self.lock:
            session = self._open_session(session_id)
            intent = self._payment_intent(session, status="succeeded")
            charge = self._charge(intent)
            intent["latest_charge"] = charge["id"]
            session.update(
                status="complete",
                payment_status="paid",
                payment_intent=intent["id"],
                customer_details=self._customer(),
            )
            self.emit("payment_intent.created", intent)
            self.emit("charge.succeeded", charge)
            self.emit("payment_intent.succeeded", intent)
            self.emit("checkout.session.completed", session)
            return session

    def decline(self, session_id: str) -> dict[str, Any]:
        """The payment fails, as a delayed payment method's does: the session
        completes unpaid, then ``checkout.session.async_payment_failed``."""
        with self.lock:
            session = self._open_session(session_id)
            intent = self._payment_intent(session, status="requires_payment_method")
            intent["last_payment_error"] = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
            }
            session.update(
                status="complete",
                payment_status="unpaid",
                payment_intent=intent["id"],
                customer_details=self._customer(),
            )
            self.emit("payment_intent.created", intent)
            self.emit("checkout.session.completed", session)
            self.emit("payment_intent.payment_failed", intent)
            self.emit("checkout.session.async_payment_failed", session)
            return session

    def expire(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            session = self._open_session(session_id)
            session["status"] = "expired"
            self.emit("checkout.session.expired", session)
            return session

    def settle_refund(self, refund_id: str, status: str = "succeeded") -> dict[str, Any]:
        """A pending refund becomes ``succeeded`` or ``failed`` (credits come back to
        the charge), with the events Stripe sends for it."""
        with self.lock:
            refund = next((r for r in self.refunds if r["id"] == refund_id), None)
            if refund is None or refund["status"] != "pending":
                raise SimulatorError(f"No pending refund {refund_id}.")
            refund["status"] = status
            charge = self.charges[refund["charge"]]
            if status in {"failed", "canceled"}:
                refund["failure_reason"] = "expired_or_canceled_card"
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = False
                self.emit("refund.updated", refund)
                self.emit("refund.failed", refund)
            else:
                self.emit("refund.updated", refund)
                self.emit("charge.refunded", charge)
            return refund

    def event(self, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        """A Stripe event of ``obj``, as delivered (not recorded or sent)."""
        return {
            "id": f"evt_{secrets.token_hex(12)}",
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 0,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }

    def charge_refunded(self, session_id: str, *, full: bool = True) -> dict[str, Any]:
        """The session's charge as a refund made in the Dashboard leaves it (not recorded)."""
        with self.lock:
            session = self.sessions[session_id]
            intent = self.payment_intents.get(session.get("payment_intent") or "")
            charge = dict(self.charges[intent["latest_charge"]]) if intent else {}
        amount = session["amount_total"]
        return {
            **charge,
            "id": charge.get("id") or f"ch_{secrets.token_hex(12)}",
            "object": "charge",
            "amount": amount,
            "amount_refunded": amount if full else amount // 2,
            "refunded": full,
            "currency": session["currency"],
            "payment_intent": session["payment_intent"],
            "metadata": {"order_id": session["metadata"]["order_id"]},
        }

    def emit(self, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Record an event and send it to the webhook endpoint if it subscribes."""
        with self.lock:
            event = self.event(event_type, obj)
            url = self.knobs.webhook_url
            wanted = "*" in self.knobs.enabled_events or event_type in self.knobs.enabled_events
            event["pending_webhooks"] = 1 if url and wanted else 0
            self.events.append(event)
            if event["pending_webhooks"]:
                payload = json.dumps(event, indent=2)
                secret = self.keys.webhook_secret

                def build() -> tuple[bytes, dict[str, str]]:
                    return payload.encode(), {
                        "Content-Type": "application/json; charset=utf-8",
                        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                        "Stripe-Signature": stripe_signature(payload, secret),
                    }

                self.notify(event_id=event["id"], url=url, build=build)
            return event

    def delivered(self, delivery: Any) -> None:
        for event in self.events:
            if event["id"] == delivery.event_id:
                event["pending_webhooks"] = 0

    def tick(self, now: float) -> None:
        for session in self.sessions.values():
            if session["status"] == "open" and session["expires_at"] <= now:
                session["status"] = "expired"
                self.emit("checkout.session.expired", session)

    # -- state helpers (under the lock) ---------------------------------------------
    def _open_session(self, session_id: str) -> dict[str, Any]:
        session = self.sessions.get(session_id)
        if session is None:
            raise SimulatorError(f"No such checkout.session: {session_id}")
        if session["status"] != "open":
            raise SimulatorError(f"This Checkout Session is {session['status']}.")
        return session

    def _payment_intent(self, session: dict[str, Any], *, status: str) -> dict[str, Any]:
        intent_id = f"pi_{secrets.token_hex(12)}"
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": session["amount_total"] if status == "succeeded" else 0,
            "currency": session["currency"],
            "created": int(time.time()),
            "latest_charge": None,
            "livemode": False,
            "metadata": dict(self._session_extra[session["id"]]["payment_intent_metadata"]),
            "payment_method_types": ["card"],
            "status": status,
            "last_payment_error": None,
        }
        self.payment_intents[intent_id] = intent
        return intent

    def _charge(self, intent: dict[str, Any]) -> dict[str, Any]:
        charge = {
            "id": f"ch_{secrets.token_hex(12)}",
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"],
            "amount_refunded": 0,
            "captured": True,
            "created": int(time.time()),
            "currency": intent["currency"],
            "livemode": False,
            "metadata": dict(intent["metadata"]),
            "paid": True,
            "payment_intent": intent["id"],
            "refunded": False,
            "status": "succeeded",
        }
        self.charges[charge["id"]] = charge
        return charge

    def _customer(self) -> dict[str, Any]:
        return {"email": self.knobs.customer_email, "name": "Simulated Customer"}

    # -- the HTTP surface ------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "sessions": list(self.sessions.values()),
            "payment_intents": list(self.payment_intents.values()),
            "refunds": self.refunds,
            "events": self.events,
        }

    def actions(self, request: Request) -> dict[tuple[str, str], Callable[[str], Any]]:
        """``/__sim__/sessions/{id}/pay|decline|expire``; ``/__sim__/refunds/{id}/settle``
        with ``{"status": "succeeded"|"failed"}``."""
        return {
            ("sessions", "pay"): self.pay,
            ("sessions", "decline"): self.decline,
            ("sessions", "expire"): self.expire,
            ("refunds", "settle"): lambda ident: self.settle_refund(
                ident, str(request.json().get("status", "succeeded"))
            ),
        }

    def route(self, request: Request) -> Response:
        if request.path.startswith("/c/pay/"):
            return self._page(request)
        if not request.path.startswith("/v1/"):
            return Response.json(
                404,
                {
                    "error": {
                        "type": "invalid_request_error",
                        "message": "Unrecognized request URL.",
                    }
                },
            )
        return self._api(request)

    def _api(self, request: Request) -> Response:
        if self.knobs.delay:
            time.sleep(self.knobs.delay)
        raw = (
            request.body.decode() if request.method == "POST" else request.target.partition("?")[2]
        )
        form = _nest(parse_qsl(raw, keep_blank_values=True))
        request_id = f"req_{secrets.token_hex(7)}"
        with self.lock:
            self.requests.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "form": form,
                    "headers": dict(request.headers),
                }
            )
            status, body, replayed = self._answer(request, raw, form)
        headers = {"Request-Id": request_id, "Stripe-Version": API_VERSION}
        key = request.headers.get("Idempotency-Key")
        if key and request.method == "POST":
            headers["Idempotency-Key"] = key
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response.json(status, body, **headers)

    def _answer(
        self, request: Request, raw: str, form: dict[str, Any]
    ) -> tuple[int, dict[str, Any], bool]:
        failure = self._take_failure()
        if failure is not None:
            # An outage: the request never began executing, so no idempotent result is kept.
            kind = "api_error" if failure >= 500 else "invalid_request_error"
            return failure, {"error": {"type": kind, "message": "Injected failure."}}, False
        authorization = request.headers.get("Authorization", "")
        if authorization != f"Bearer {self.keys.secret_key}":
            shown = authorization.removeprefix("Bearer ")
            message = (
                f"Invalid API Key provided: {shown[:8]}{'*' * 4}{shown[-4:]}"
                if shown
                else "You did not provide an API key."
            )
            return 401, {"error": {"type": "invalid_request_error", "message": message}}, False
        key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
        fingerprint = f"{request.method} {request.path} {sorted(parse_qsl(raw))}"
        if key and key in self._idempotent:
            seen, status, body = self._idempotent[key]
            if seen != fingerprint:
                return (
                    400,
                    {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the "
                            "same parameters they were first used with. Try using a key other "
                            f"than '{key}' if you meant to execute a different request.",
                        }
                    },
                    False,
                )
            return status, copy.deepcopy(body), True
        try:
            status, body = 200, self._dispatch_api(request.method, request.path, form)
        except StripeError as exc:
            status, body = exc.status, exc.body
        if key:
            self._idempotent[key] = (fingerprint, status, copy.deepcopy(body))
        return status, copy.deepcopy(body), False

    def _dispatch_api(self, method: str, path: str, form: dict[str, Any]) -> dict[str, Any]:
        parts = path.strip("/").split("/")[1:]  # without "v1"
        if parts[:2] == ["checkout", "sessions"]:
            rest = parts[2:]
            if method == "POST" and not rest:
                return self._create_session(form)
            if method == "GET" and not rest:
                return self._list(
                    list(reversed(self.sessions.values())),
                    form,
                    ("status", "payment_intent"),
                    "/v1/checkout/sessions",
                )
            session = self.sessions.get(rest[0])
            if session is None:
                raise _no_such("checkout.session", rest[0])
            if method == "GET" and len(rest) == 1:
                return session
            if method == "POST" and rest[1:] == ["expire"]:
                if session["status"] != "open":
                    raise StripeError(
                        400,
                        'Only Checkout Sessions with a status in ["open"] can be expired. This '
                        f'Checkout Session has a status of "{session["status"]}".',
                    )
                return self.expire(session["id"])
        if parts[:1] == ["payment_intents"] and len(parts) == 2 and method == "GET":
            intent = self.payment_intents.get(parts[1])
            if intent is None:
                raise _no_such("payment_intent", parts[1])
            return intent
        if parts[:1] == ["refunds"]:
            if method == "POST" and len(parts) == 1:
                return self._create_refund(form)
            if method == "GET" and len(parts) == 1:
                return self._list(
                    list(reversed(self.refunds)), form, ("payment_intent", "charge"), "/v1/refunds"
                )
            if method == "GET" and len(parts) == 2:
                refund = next((r for r in self.refunds if r["id"] == parts[1]), None)
                if refund is None:
                    raise _no_such("refund", parts[1])
                return refund
        if parts[:1] == ["events"] and method == "GET":
            if len(parts) == 1:
                events = self.events
                if form.get("delivery_success") in {"false", "true"}:
                    pending = form["delivery_success"] == "false"
                    events = [e for e in events if (e["pending_webhooks"] > 0) == pending]
                return self._list(list(reversed(events)), form, ("type",), "/v1/events")
            found = next((e for e in self.events if e["id"] == parts[1]), None)
            if found is None:
                raise _no_such("event", parts[1])
            return found
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

    def _list(
        self, rows: Any, form: dict[str, Any], filters: tuple[str, ...], url: str
    ) -> dict[str, Any]:
        selected = [r for r in rows if all(form.get(f) in (None, r.get(f)) for f in filters)]
        if form.get("starting_after"):
            ids = [r["id"] for r in selected]
            if form["starting_after"] in ids:
                selected = selected[ids.index(form["starting_after"]) + 1 :]
        limit = max(1, min(100, _int(form, "limit", required=False) or 10))
        return {
            "object": "list",
            "data": selected[:limit],
            "has_more": len(selected) > limit,
            "url": url,
        }

    def _create_session(self, form: dict[str, Any]) -> dict[str, Any]:
        mode = form.get("mode")
        if not mode:
            raise _missing("mode")
        if mode != "payment":
            raise StripeError(
                400, f"The simulator only supports mode=payment, not {mode}.", param="mode"
            )
        items = _items(form.get("line_items"))
        if not items:
            raise _missing("line_items")
        total, currency = 0, None
        line_items = []
        for n, item in enumerate(items):
            price = item.get("price_data")
            if not isinstance(price, dict):
                raise _missing(f"line_items[{n}][price_data]")
            for name in ("currency", "unit_amount"):
                if not price.get(name):
                    raise _missing(f"line_items[{n}][price_data][{name}]")
            if not (price.get("product_data") or {}).get("name"):
                raise _missing(f"line_items[{n}][price_data][product_data][name]")
            unit = _int(price, "unit_amount") or 0
            quantity = _int(item, "quantity") or 0
            if quantity < 1 or unit < 0:
                raise StripeError(400, "Invalid line item.", param=f"line_items[{n}]")
            if currency not in (None, price["currency"].lower()):
                raise StripeError(400, "All line items must use the same currency.")
            currency = price["currency"].lower()
            total += unit * quantity
            line_items.append(
                {"name": price["product_data"]["name"], "unit_amount": unit, "quantity": quantity}
            )
        if not form.get("success_url"):
            raise _missing("success_url")
        now = int(time.time())
        expires_at = _int(form, "expires_at", required=False) or now + MAX_EXPIRY
        if expires_at < now + MIN_EXPIRY or expires_at > now + MAX_EXPIRY:
            raise StripeError(
                400,
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from "
                "Checkout Session creation.",
                code="parameter_invalid_integer",
                param="expires_at",
            )
        session_id = f"cs_test_{secrets.token_urlsafe(42).replace('-', 'a').replace('_', 'b')}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": form.get("cancel_url"),
            "client_reference_id": form.get("client_reference_id"),
            "created": now,
            "currency": currency,
            "customer": None,
            "customer_details": None,
            "customer_email": form.get("customer_email"),
            "expires_at": expires_at,
            "livemode": False,
            "metadata": form.get("metadata") or {},
            "mode": mode,
            "payment_intent": None,
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "success_url": form["success_url"],
            "ui_mode": "hosted",
            "url": self.checkout_url(session_id),
        }
        self.sessions[session_id] = session
        self._session_extra[session_id] = {
            "payment_intent_metadata": (form.get("payment_intent_data") or {}).get("metadata")
            or {},
            "line_items": line_items,
        }
        return session

    def _create_refund(self, form: dict[str, Any]) -> dict[str, Any]:
        if form.get("payment_intent"):
            intent = self.payment_intents.get(form["payment_intent"])
            if intent is None:
                raise _no_such("payment_intent", form["payment_intent"], "payment_intent")
            charge = self.charges.get(intent.get("latest_charge") or "")
            if charge is None:
                raise StripeError(
                    400,
                    f"This PaymentIntent ({intent['id']}) does not have a successful charge "
                    "to refund.",
                    code="charge_not_refundable",
                    param="payment_intent",
                )
        elif form.get("charge"):
            charge = self.charges.get(form["charge"])
            if charge is None:
                raise _no_such("charge", form["charge"], "charge")
        else:
            raise StripeError(
                400,
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
            )
        left = charge["amount"] - charge["amount_refunded"]
        if left <= 0:
            raise StripeError(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = _int(form, "amount", required=False)
        amount = left if amount is None else amount
        if amount <= 0:
            raise StripeError(400, "Invalid positive integer", param="amount")
        if amount > left:
            raise StripeError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                code="amount_too_large",
                param="amount",
            )
        status = self.knobs.refund_status
        refund = {
            "id": f"re_{secrets.token_hex(12)}",
            "object": "refund",
            "amount": amount,
            "balance_transaction": None,
            "charge": charge["id"],
            "created": int(time.time()),
            "currency": charge["currency"],
            "metadata": form.get("metadata") or {},
            "payment_intent": charge["payment_intent"],
            "reason": form.get("reason"),
            "status": status,
        }
        self.refunds.append(refund)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        self.emit("refund.created", refund)
        if status == "succeeded":
            self.emit("charge.refunded", charge)
        return refund

    # -- the hosted Checkout page ----------------------------------------------------
    def _page(self, request: Request) -> Response:
        session_id, _, action = request.path.removeprefix("/c/pay/").partition("/")
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                return Response.html(
                    404,
                    "Not found",
                    "<h1>Something went wrong</h1><p>This Checkout Session does not exist.</p>",
                )
            if request.method == "POST" and action in {"pay", "decline"}:
                if session["status"] != "open":
                    return self._closed(session)
                (self.pay if action == "pay" else self.decline)(session_id)
                target = session["success_url"] if action == "pay" else session["cancel_url"]
                if not target:
                    return self._closed(session)
                return Response.redirect(target.replace("{CHECKOUT_SESSION_ID}", session_id))
            if request.method != "GET" or action:
                return Response.html(405, "Not allowed", "<h1>Not allowed</h1>")
            if session["status"] != "open":
                return self._closed(session)
            return Response.html(200, "Checkout", self._checkout_body(session))

    def _checkout_body(self, session: dict[str, Any]) -> str:
        extra = self._session_extra[session["id"]]
        names = ", ".join(i["name"] for i in extra["line_items"])
        cancel = session.get("cancel_url")
        back = (
            f"<p><a href='{escape(cancel.replace('{CHECKOUT_SESSION_ID}', session['id']))}'>"
            "Cancel and return</a></p>"
            if cancel
            else ""
        )
        action = f"/c/pay/{quote(session['id'])}"
        return (
            "<h1>Checkout</h1>"
            f"<p>{escape(names)}</p>"
            f"<p class='amount'>{escape(_money(session['amount_total'], session['currency']))}</p>"
            f"<form method='post' action='{action}/pay'>"
            "<button class='primary' type='submit'>Pay</button></form>"
            f"<form method='post' action='{action}/decline'>"
            "<button type='submit'>Decline</button></form>"
            f"{back}"
            "<p class='note'>Stripe simulator: no card is charged. Pay completes the payment; "
            "Decline makes it fail.</p>"
        )

    def _closed(self, session: dict[str, Any]) -> Response:
        message = {
            "complete": "This Checkout Session is complete.",
            "expired": "This Checkout Session has expired.",
        }.get(session["status"], "This Checkout Session is no longer active.")
        return Response.html(
            409, "Checkout", f"<h1>Checkout</h1><p role='status'>{escape(message)}</p>"
        )


def _money(amount: int, currency: str) -> str:
    if currency.lower() in ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    return f"{amount / 100:.2f} {currency.upper()}"
