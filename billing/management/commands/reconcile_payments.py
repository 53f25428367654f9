from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing import services


class Command(BaseCommand):
    help = (
        "Ask the provider about every pending order older than N minutes and settle it the "
        "way its notification would have: paid orders are granted their credits once, "
        "expired or closed ones are canceled. Pending refunds are settled from the provider "
        "too (a failed one gives its credits back). Safe to run twice; --dry-run lists the "
        "orders and changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-minutes", type=int, default=60)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        results = services.reconcile_pending(
            older_than_minutes=options["older_than_minutes"], dry_run=options["dry_run"]
        )
        for order_id, status in results.items():
            self.stdout.write(f"{order_id} {status}")
        errors = sum(status.startswith("error") for status in results.values())
        verb = "would reconcile" if options["dry_run"] else "reconciled"
        self.stdout.write(f"{verb} {len(results)} order(s), {errors} error(s)")
        if not options["dry_run"]:
            refunds = services.reconcile_refunds(older_than_minutes=options["older_than_minutes"])
            for refund_id, status in refunds.items():
                self.stdout.write(f"refund {refund_id} {status}")
            refund_errors = sum(status.startswith("error") for status in refunds.values())
            self.stdout.write(f"reconciled {len(refunds)} refund(s), {refund_errors} error(s)")
            errors += refund_errors
        if errors:
            raise CommandError(f"{errors} order(s) or refund(s) could not be reconciled.")
