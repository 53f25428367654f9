"""The Stripe simulator, driven by the official ``stripe`` library and a browser's
requests: Stripe's shapes, errors and idempotency, its hosted page, and webhooks
signed as Stripe signs them, retried until the endpoint answers 2xx."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import stripe

from billing.simulators import StripeKeys, StripeSimulator
from billing.tests.simulators import FAST_RETRIES, Receiver

KEYS = StripeKeys("sk_test_" + "protocol", "whsec_" + "protocol")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def sim(receiver: Receiver) -> Iterator[StripeSimulator]:
    simulator = StripeSimulator(KEYS, webhook_url=receiver.url, retry_delays=FAST_RETRIES)
    simulator.start()
    yield simulator
    simulator.stop()


def _client(sim: StripeSimulator, key: str = KEYS.secret_key) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": sim.origin}, max_network_retries=0)


def _session(client: stripe.StripeClient, **extra: object) -> stripe.checkout.Session:
    params: dict = {
        "mode": "payment",
        "client_reference_id": "order-1",
        "metadata": {"order_id": "order-1"},
        "payment_intent_data": {"metadata": {"order_id": "order-1"}},
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 999,
                    "product_data": {"name": "Standard (500 credits)"},
                },
                "quantity": 1,
            }
        ],
        "success_url": "http://127.0.0.1:9/back?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1:9/cancel",
        "expires_at": int(time.time()) + 3600,
        **extra,
    }
    return client.v1.checkout.sessions.create(params=params)


def _events(receiver: Receiver) -> list[stripe.Event]:
    return [
        stripe.Webhook.construct_event(
            r.body.decode(), r.headers["Stripe-Signature"], KEYS.webhook_secret
        )
        for r in receiver.received
    ]


def test_a_checkout_session_has_stripes_shape_and_a_hosted_page(sim) -> None:
    client = _client(sim)

    session = _session(client)
    again = client.v1.checkout.sessions.retrieve(session.id)
    listed = client.v1.checkout.sessions.list(params={"limit": 5})

    assert isinstance(session, stripe.checkout.Session)
    assert session.id.startswith("cs_test_")
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid", "payment")
    assert (session.amount_total, session.currency, session.payment_intent) == (999, "usd", None)
    assert session.metadata.to_dict() == {"order_id": "order-1"}
    assert session.url == f"{sim.origin}/c/pay/{session.id}"
    assert again.to_dict() == session.to_dict()
    assert [s.id for s in listed.data] == [session.id]
    page = httpx.get(session.url)
    assert page.status_code == 200
    assert "9.99 USD" in page.text and "Standard (500 credits)" in page.text
    assert ">Pay</button>" in page.text and ">Decline</button>" in page.text


def test_an_idempotency_key_replays_the_first_answer_and_refuses_other_parameters(sim) -> None:
    client = _client(sim)
    key = {"idempotency_key": "checkout-order-1"}
    expires = int(time.time()) + 3600

    first = client.v1.checkout.sessions.create(params=_session_params(expires), options=key)
    second = client.v1.checkout.sessions.create(params=_session_params(expires), options=key)
    with pytest.raises(stripe.IdempotencyError):
        client.v1.checkout.sessions.create(params=_session_params(expires + 1), options=key)

    assert second.id == first.id
    assert len(sim.sessions) == 1
    assert second.last_response.headers["Idempotent-Replayed"] == "true"


def _session_params(expires_at: int) -> dict:
    return {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 500,
                    "product_data": {"name": "X"},
                },
                "quantity": 1,
            }
        ],
        "success_url": "http://127.0.0.1:9/ok",
        "expires_at": expires_at,
    }


def test_bad_requests_get_stripes_errors_and_change_nothing(sim) -> None:
    with pytest.raises(stripe.AuthenticationError, match="Invalid API Key"):
        _session(_client(sim, "sk_test_wrong"))
    with pytest.raises(stripe.InvalidRequestError) as soon:
        _session(_client(sim), expires_at=int(time.time()) + 60)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        _client(sim).v1.checkout.sessions.create(params={"mode": "payment", "success_url": "x"})
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        _client(sim).v1.checkout.sessions.retrieve("cs_test_nothing")

    assert soon.value.param == "expires_at"
    assert (missing.value.code, missing.value.param) == ("parameter_missing", "line_items")
    assert (unknown.value.http_status, unknown.value.code) == (404, "resource_missing")
    assert sim.sessions == {}


def test_an_outage_is_an_api_error_and_keeps_no_idempotent_answer(sim) -> None:
    client = _client(sim)
    sim.fail(503)
    key = {"idempotency_key": "k"}
    params = _session_params(int(time.time()) + 3600)

    with pytest.raises(stripe.APIError):
        client.v1.checkout.sessions.create(params=params, options=key)
    session = client.v1.checkout.sessions.create(params=params, options=key)

    assert list(sim.sessions) == [session.id]


def test_paying_sends_a_signed_checkout_session_completed(sim, receiver) -> None:
    sim.configure(enabled_events=("checkout.session.completed",))
    session = _session(_client(sim))

    sim.pay(session.id)
    assert sim.wait_for_deliveries()

    [event] = _events(receiver)
    assert event.type == "checkout.session.completed"
    paid = event.data.object
    assert (paid.id, paid.status, paid.payment_status) == (session.id, "complete", "paid")
    assert paid.payment_intent.startswith("pi_") and paid.amount_total == 999
    intent = _client(sim).v1.payment_intents.retrieve(paid.payment_intent)
    assert (intent.status, intent.metadata.to_dict()) == ("succeeded", {"order_id": "order-1"})
    assert receiver.received[0].headers["User-Agent"].startswith("Stripe/1.0")


def test_a_failing_endpoint_is_retried_re_signed_until_it_answers_2xx(sim, receiver) -> None:
    sim.configure(enabled_events=("checkout.session.completed",))
    receiver.script.extend([500, 503])
    session = _session(_client(sim))

    sim.pay(session.id)
    assert sim.wait_for_deliveries()

    events = _events(receiver)
    assert [e.id for e in events] == [events[0].id] * 3
    [delivery] = sim.delivery_log()
    assert [a["status"] for a in delivery["attempts"]] == [500, 503, 204]
    assert delivery["state"] == "delivered"
    gaps = [b.at - a.at for a, b in zip(receiver.received, receiver.received[1:], strict=False)]
    assert gaps[0] >= FAST_RETRIES[0] * 0.9 and gaps[1] >= FAST_RETRIES[1] * 0.9


def test_an_endpoint_that_never_answers_2xx_is_given_up_after_the_retries(sim, receiver) -> None:
    sim.configure(enabled_events=("checkout.session.completed",))
    receiver.script.extend([500] * 10)
    session = _session(_client(sim))

    sim.pay(session.id)
    assert sim.wait_for_deliveries()

    assert len(receiver.received) == 1 + len(FAST_RETRIES)
    assert sim.delivery_log()[0]["state"] == "failed"
    undelivered = _client(sim).v1.events.list(params={"delivery_success": False})
    assert [e.type for e in undelivered.data] == ["checkout.session.completed"]


def test_notifications_can_be_duplicated_delayed_or_lost(sim, receiver) -> None:
    sim.configure(enabled_events=("checkout.session.completed",), duplicate_notifications=2)
    twice = _session(_client(sim))
    sim.pay(twice.id)
    assert sim.wait_for_deliveries()
    assert len({e.id for e in _events(receiver)}) == 1 and len(receiver.received) == 3

    sim.configure(duplicate_notifications=0, notification_delay=0.5)
    late = _session(_client(sim))
    paid_at = time.time()
    sim.pay(late.id)
    assert sim.wait_for_deliveries()
    assert receiver.received[-1].at - paid_at >= 0.45

    sim.configure(notification_delay=0.0, deliver_notifications=False)
    lost = _session(_client(sim))
    sim.pay(lost.id)
    assert sim.wait_for_deliveries()
    assert len(receiver.received) == 4
    assert sim.delivery_log()[-1]["state"] == "lost"


def test_pay_and_decline_on_the_hosted_page_go_back_to_the_merchant(sim, receiver) -> None:
    sim.configure(
        enabled_events=("checkout.session.completed", "checkout.session.async_payment_failed")
    )
    client = _client(sim)
    paid, declined = _session(client), _session(client)

    pay = httpx.post(f"{paid.url}/pay")
    decline = httpx.post(f"{declined.url}/decline")
    again = httpx.get(paid.url)
    assert sim.wait_for_deliveries()

    assert (pay.status_code, pay.headers["Location"]) == (
        303,
        f"http://127.0.0.1:9/back?session={paid.id}",
    )
    assert (decline.status_code, decline.headers["Location"]) == (303, "http://127.0.0.1:9/cancel")
    assert again.status_code == 409 and "complete" in again.text
    by_session = {
        (e.type, e.data.object.id, e.data.object.payment_status) for e in _events(receiver)
    }
    assert by_session == {
        ("checkout.session.completed", paid.id, "paid"),
        ("checkout.session.completed", declined.id, "unpaid"),
        ("checkout.session.async_payment_failed", declined.id, "unpaid"),
    }
    intent = client.v1.payment_intents.retrieve(sim.sessions[declined.id]["payment_intent"])
    assert (intent.status, intent.last_payment_error.code) == (
        "requires_payment_method",
        "card_declined",
    )


def test_expiry_by_the_api_and_by_the_clock_sends_checkout_session_expired(sim, receiver) -> None:
    sim.configure(enabled_events=("checkout.session.expired",))
    client = _client(sim)
    asked, timed_out = _session(client), _session(client)

    expired = client.v1.checkout.sessions.expire(asked.id)
    with pytest.raises(stripe.InvalidRequestError, match="can be expired"):
        client.v1.checkout.sessions.expire(asked.id)
    with sim.lock:
        sim.sessions[timed_out.id]["expires_at"] = int(time.time()) - 1
    deadline = time.time() + 5
    while sim.sessions[timed_out.id]["status"] != "expired" and time.time() < deadline:
        time.sleep(0.05)
    assert sim.wait_for_deliveries()

    assert expired.status == "expired"
    assert sorted(e.data.object.id for e in _events(receiver)) == sorted([asked.id, timed_out.id])
    assert httpx.post(f"{asked.url}/pay").status_code == 409


def test_refunds_have_stripes_shape_limits_and_events(sim, receiver) -> None:
    sim.configure(enabled_events=("refund.failed", "charge.refunded"))
    client = _client(sim)
    session = _session(client)
    intent = sim.pay(session.id)["payment_intent"]

    refund = client.v1.refunds.create(
        params={"payment_intent": intent, "amount": 400, "metadata": {"order_id": "order-1"}},
        options={"idempotency_key": "refund-1"},
    )
    same = client.v1.refunds.create(
        params={"payment_intent": intent, "amount": 400, "metadata": {"order_id": "order-1"}},
        options={"idempotency_key": "refund-1"},
    )
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create(params={"payment_intent": intent, "amount": 600})
    sim.configure(refund_status="pending")
    pending = client.v1.refunds.create(params={"payment_intent": intent, "amount": 599})
    sim.settle_refund(pending.id, "failed")
    assert sim.wait_for_deliveries()

    assert (refund.object, refund.status, refund.amount, refund.payment_intent) == (
        "refund",
        "succeeded",
        400,
        intent,
    )
    assert same.id == refund.id and len(sim.refunds) == 2
    assert too_much.value.code == "amount_too_large"
    assert client.v1.refunds.retrieve(pending.id).status == "failed"
    events = [(e.type, e.data.object.id) for e in _events(receiver)]
    charge = sim.payment_intents[intent]["latest_charge"]
    assert events == [("charge.refunded", charge), ("refund.failed", pending.id)]
    assert sim.charges[charge]["amount_refunded"] == 400


def test_the_control_endpoints_pay_and_report(sim, receiver) -> None:
    session = _session(_client(sim))

    paid = httpx.post(f"{sim.origin}/__sim__/sessions/{session.id}/pay")
    twice = httpx.post(f"{sim.origin}/__sim__/sessions/{session.id}/pay")
    configured = httpx.post(f"{sim.origin}/__sim__/configure", json={"duplicate_notifications": 1})
    unknown = httpx.post(f"{sim.origin}/__sim__/configure", json={"nonsense": 1})
    idle = httpx.post(f"{sim.origin}/__sim__/wait", json={"timeout": 5}).json()
    state = httpx.get(f"{sim.origin}/__sim__/state").json()

    assert (paid.status_code, paid.json()["payment_status"]) == (200, "paid")
    assert twice.status_code == 409
    assert configured.json()["knobs"]["duplicate_notifications"] == 1
    assert unknown.status_code == 400
    assert idle == {"idle": True}
    assert [s["status"] for s in state["sessions"]] == ["complete"]
    assert {e["type"] for e in state["events"]} >= {
        "checkout.session.completed",
        "charge.succeeded",
    }


def test_notifications_never_leave_loopback(sim, receiver, _loopback_only) -> None:
    sim.configure(webhook_url="https://merchant.example.com/hook")
    session = _session(_client(sim))

    sim.pay(session.id)
    assert sim.wait_for_deliveries()

    assert {d["state"] for d in sim.delivery_log()} == {"refused"}
    assert receiver.received == []
    assert _loopback_only == []
