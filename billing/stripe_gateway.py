"""The one place that talks to Stripe, through the real ``stripe`` library.

``STRIPE_API_BASE`` points the client elsewhere (the Stripe simulator, in the
embedded mode and the tests). Every
Stripe failure is classified here, once: our callers see
``PaymentProviderUnavailable`` (503) and never a ``stripe`` exception; what
Stripe said is its ``internal_detail`` (logs, staff), never the client's detail.

``stripe`` is imported by the calls that use it: a web worker that takes no
payment never loads it.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings

from billing.errors import (
    InvalidSignature,
    PaymentProviderNotConfigured,
    PaymentProviderUnavailable,
)

if TYPE_CHECKING:
    import stripe

# Stripe refuses a session that expires sooner than 30 minutes after it is created.
MIN_SESSION_SECONDS = 31 * 60


def is_configured() -> bool:
    """Whether this deployment has Stripe credentials at all."""
    return bool(settings.STRIPE_SECRET_KEY)


def _client() -> stripe.StripeClient:
    import stripe

    if not is_configured():
        raise PaymentProviderNotConfigured("Stripe is not configured.")
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def ensure_configured() -> None:
    """Refuse (503 ``payment_provider_not_configured``) before an order is opened
    for a provider this deployment has no credentials for."""
    _client()


def _call(fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    import stripe

    try:
        return fn(*args, **kwargs).to_dict()
    except stripe.StripeError as exc:
        # Stripe's words (and a connection error's host and port) are for the
        # logs and staff; the client reads ours.
        raise PaymentProviderUnavailable(internal=f"Stripe: {exc.user_message or exc}") from exc


def create_checkout_session(
    *,
    order_id: str,
    name: str,
    credits: int,
    amount: int,
    currency: str,
    expires_at: int,
) -> dict[str, Any]:
    """A hosted Checkout Session (mode=payment) whose metadata carries our order id,
    created under an idempotency key derived from the order, so a retry cannot open
    a second session for it. Every parameter is derived from the order (Stripe
    refuses a key reused with other parameters); the return URLs get its id in
    place of ``{PAYMENT_ID}``."""
    params: dict[str, Any] = {
        "mode": "payment",
        "client_reference_id": order_id,
        "metadata": {"order_id": order_id, "credits": str(credits)},
        "payment_intent_data": {"metadata": {"order_id": order_id}},
        "line_items": [
            {
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": amount,
                    "product_data": {"name": name},
                },
                "quantity": 1,
            }
        ],
        "success_url": settings.STRIPE_SUCCESS_URL.replace("{PAYMENT_ID}", order_id),
        "cancel_url": settings.STRIPE_CANCEL_URL.replace("{PAYMENT_ID}", order_id),
        "expires_at": expires_at,
    }
    return _call(
        _client().v1.checkout.sessions.create,
        params=params,
        options={"idempotency_key": f"checkout-{order_id}"},
    )


def retrieve_checkout_session(session_id: str) -> dict[str, Any]:
    """The session as Stripe has it now (reconciliation and expiry ask this)."""
    return _call(_client().v1.checkout.sessions.retrieve, session_id)


def expire_checkout_session(session_id: str) -> dict[str, Any]:
    """Close an open session so it can no longer be paid."""
    return _call(_client().v1.checkout.sessions.expire, session_id)


def create_refund(*, payment_intent: str, amount: int, key: str, order_id: str) -> dict[str, Any]:
    """Refund ``amount`` (minor units) of a payment under our refund's key, so asking
    twice refunds once; the order id rides along in the refund's metadata."""
    return _call(
        _client().v1.refunds.create,
        params={
            "payment_intent": payment_intent,
            "amount": amount,
            "metadata": {"order_id": order_id},
        },
        options={"idempotency_key": f"refund-{key}"},
    )


def retrieve_refund(refund_id: str) -> dict[str, Any]:
    """The refund as Stripe has it now (``status``: pending, succeeded, failed...)."""
    return _call(_client().v1.refunds.retrieve, refund_id)


def _signed_at(signature: str | None) -> int:
    """The ``t=`` of a ``Stripe-Signature`` header the library has already verified."""
    stamps = [p[2:] for p in (signature or "").split(",") if p.strip().startswith("t=")]
    return int(stamps[0].strip()) if stamps else 0


def verify_event(payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event as a plain dict, once ``Stripe-Signature`` proves it came from Stripe
    with our endpoint secret, no older than ``STRIPE_WEBHOOK_TOLERANCE`` and no more
    than ``STRIPE_WEBHOOK_CLOCK_SKEW`` seconds ahead of our clock;
    ``invalid_signature`` otherwise."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise PaymentProviderNotConfigured("Stripe webhooks are not configured.")
    import stripe

    try:
        text = payload.decode("utf-8")
        stripe.Webhook.construct_event(
            text,
            signature,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE,
        )
        event = json.loads(text)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise InvalidSignature() from exc
    # The library refuses only timestamps older than the tolerance; one from the
    # future would stretch the replay window by as much, so the skew is bounded.
    if _signed_at(signature) > time.time() + settings.STRIPE_WEBHOOK_CLOCK_SKEW:
        raise InvalidSignature("The notification's signature is timestamped in the future.")
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise InvalidSignature("The event is not a Stripe event.")
    return event
