"""Billing fixtures: the payment simulators, and every test that touches the
database ends with an exact ledger."""

from __future__ import annotations

from billing.tests.ledger import _ledger_stays_exact  # noqa: F401
from billing.tests.simulators import stripe_simulator, wechatpay_simulator  # noqa: F401
