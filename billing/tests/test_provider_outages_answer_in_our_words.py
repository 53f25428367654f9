"""A payment provider that is down answers 503 in our words; what it (or the
connection) said goes to the log, the order's failure reason and staff only,
and the log records the real status, not a crash's code=500."""

from __future__ import annotations

import logging
import socket

import pytest

from accounts.tests.factories import UserFactory
from billing.models import PaymentOrder
from billing.tests.factories import CreditPackageFactory

pytestmark = pytest.mark.django_db

OUR_WORDS = {
    "code": "payment_provider_unavailable",
    "detail": "The payment provider is unavailable; try again shortly.",
    "attr": None,
}


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _events(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [r.msg for r in caplog.records if isinstance(r.msg, dict)]


def test_stripe_unreachable_answers_our_words_and_logs_the_exception_with_503(
    api_client, stripe_simulator, settings, closed_port, caplog
) -> None:
    # given Stripe's API unreachable
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port}"
    package = CreditPackageFactory()
    api_client.force_authenticate(UserFactory())

    # when a payment is asked for (the test client would re-raise a crash)
    with caplog.at_level(logging.INFO):
        response = api_client.post("/api/payments/stripe/create", {"package_id": package.pk})

    # then the client reads our words only
    assert response.status_code == 503
    assert response.json() == {"type": "server_error", "errors": [OUR_WORDS]}
    assert b"127.0.0.1" not in response.content
    assert str(closed_port).encode() not in response.content
    # and staff see what Stripe's library said, on the failed order
    order = PaymentOrder.objects.get()
    assert order.status == "failed"
    assert order.failure_reason.startswith("Stripe: ")
    assert str(closed_port) in order.failure_reason
    # and the log has the exception, under the real status
    events = _events(caplog)
    [logged] = [e for e in events if e["event"] == "request_dependency_unavailable"]
    assert (logged["status"], logged["error_code"]) == (503, "payment_provider_unavailable")
    assert "APIConnectionError" in logged["exception"]
    assert str(closed_port) in logged["exception"]
    finished = [e for e in events if e["event"] == "request_finished"]
    assert [e["code"] for e in finished] == [503]
    assert not [e for e in events if e["event"] == "request_failed"]


def test_a_stripe_error_message_is_not_passed_to_the_client(api_client, stripe_simulator) -> None:
    # given Stripe answering a server error with a message of its own
    package = CreditPackageFactory()
    api_client.force_authenticate(UserFactory())
    stripe_simulator.fail(500, times=5)

    response = api_client.post("/api/payments/stripe/create", {"package_id": package.pk})

    assert response.status_code == 503
    assert response.json()["errors"] == [OUR_WORDS]
    assert "Injected failure" in PaymentOrder.objects.get().failure_reason


def test_wechat_pay_unreachable_answers_our_words(
    api_client, wechatpay_simulator, settings, closed_port, caplog
) -> None:
    settings.WECHATPAY_GATEWAY = f"http://127.0.0.1:{closed_port}"
    package = CreditPackageFactory(prices={"CNY": 3500})
    api_client.force_authenticate(UserFactory())

    with caplog.at_level(logging.INFO):
        response = api_client.post(
            "/api/payments/wechat/create", {"package_id": package.pk, "trade_type": "native"}
        )

    assert response.status_code == 503
    assert response.json() == {"type": "server_error", "errors": [OUR_WORDS]}
    assert str(closed_port).encode() not in response.content
    assert str(closed_port) in PaymentOrder.objects.get().failure_reason
    [logged] = [e for e in _events(caplog) if e["event"] == "request_dependency_unavailable"]
    assert "ConnectionError" in logged["exception"]
