"""Prometheus metrics for money. Counters are incremented after commit, so they
count what happened; the pending-orders gauge is read from the database at
scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from config.metrics import register_database_collector

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
CREDITS_RELEASED = Counter(
    "billing_credits_released_total",
    "Reserved credits given back unspent (jobs that failed, were canceled or cost less).",
)
CREDITS_REFUNDED = Counter(
    "billing_credits_refunded_total", "Credits taken back from accounts by payment refunds."
)
WEBHOOKS = Counter(
    "billing_webhooks_total",
    "Provider notifications received, by provider and outcome "
    "(processed, ignored, failed, rejected).",
    ["provider", "outcome"],
)


def _family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "billing_orders_pending",
        "Payment orders waiting for the provider's word, by provider.",
        labels=["provider"],
    )


class PendingOrdersCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield _family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from billing.models import OrderStatus, PaymentOrder, Provider

        family = _family()
        counts = dict.fromkeys(Provider.values, 0)
        try:
            rows = (
                PaymentOrder.objects.filter(status=OrderStatus.PENDING)
                .values("provider")
                .annotate(n=Count("pk"))
            )
            for row in rows:
                counts[row["provider"]] = row["n"]
        except DatabaseError:
            return
        for provider, n in counts.items():
            family.add_metric([provider], n)
        yield family


def register() -> None:
    register_database_collector(PendingOrdersCollector())
