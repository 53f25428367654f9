"""Prometheus counters for money; incremented after commit so they count what happened."""

from __future__ import annotations

from prometheus_client import Counter

PAYMENTS = Counter(
    "billing_payments_total",
    "Payment orders settled, by provider and outcome (paid, failed, canceled, refunded).",
    ["provider", "outcome"],
)
CREDITS_GRANTED = Counter(
    "billing_credits_granted_total",
    "Credits added to accounts, by kind (purchase, signup_bonus, bonus, adjustment).",
    ["kind"],
)
CREDITS_SPENT = Counter("billing_credits_spent_total", "Credits charged for finished jobs.")
