"""Billing fixtures: every test that touches the database ends with an exact ledger."""

from __future__ import annotations

from billing.tests.fakes.stripe_api import fake_stripe  # noqa: F401
from billing.tests.fakes.wechatpay import fake_wechatpay  # noqa: F401
from billing.tests.ledger import _ledger_stays_exact  # noqa: F401
