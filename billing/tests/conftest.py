"""Billing fixtures: the payment simulators, and every test that touches the
database ends with an exact ledger."""

from __future__ import annotations

# Google and WeChat sign-ins, for the sign-up bonus of social accounts.
from accounts.tests.conftest import _google_server, _wechat_server, google, wechat  # noqa: F401
from billing.tests.ledger import _ledger_stays_exact  # noqa: F401
from billing.tests.simulators import stripe_simulator, wechatpay_simulator  # noqa: F401
