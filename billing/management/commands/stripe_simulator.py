"""Run the local Stripe simulator (the embedded default's Stripe)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.urls import reverse

from billing.services.notifications import STRIPE_EVENTS
from billing.simulators import StripeSimulator, stripe_keys


class Command(BaseCommand):
    help = (
        "Serve a local Stripe API (Checkout Sessions, PaymentIntents, refunds, events) and "
        "its hosted checkout page on 127.0.0.1, with the keys under VAR_DIR/simulators/ that "
        "the embedded settings use; paying or declining there sends signed webhooks to "
        "--webhook-url (SITE_URL's Stripe webhook by default), retried until it answers 2xx. "
        "Loopback only: it delivers to loopback URLs only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=settings.STRIPE_SIMULATOR_PORT)
        parser.add_argument(
            "--webhook-url",
            default=settings.SITE_URL + reverse("payments-webhook-stripe"),
            help="Where events go ('' sends none).",
        )
        parser.add_argument(
            "--all-events",
            action="store_true",
            help="Send every event, not only those the platform handles.",
        )
        parser.add_argument(
            "--retry-delays",
            default="",
            help="Comma-separated seconds between delivery attempts (default: Stripe-like).",
        )
        parser.add_argument(
            "--refund-status", choices=["succeeded", "pending"], default="succeeded"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        knobs: dict[str, Any] = {
            "webhook_url": options["webhook_url"],
            "enabled_events": ("*",) if options["all_events"] else tuple(sorted(STRIPE_EVENTS)),
            "refund_status": options["refund_status"],
        }
        if options["retry_delays"]:
            knobs["retry_delays"] = tuple(float(s) for s in options["retry_delays"].split(","))
        sim = StripeSimulator(stripe_keys(settings.VAR_DIR), port=options["port"], **knobs).start()
        self.stdout.write(
            f"Stripe simulator on {sim.origin} (webhooks to {options['webhook_url'] or 'nowhere'})"
        )
        # Whoever started it (make run, the tests) reads the URL from this line.
        self.stdout.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            sim.stop()
