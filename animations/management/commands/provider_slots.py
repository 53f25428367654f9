"""Show provider slot usage and queue depth per region."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from animations import services


class Command(BaseCommand):
    help = (
        "Per region (one DashScope key each): tasks in flight at the provider against the "
        "DASHSCOPE_MAX_IN_FLIGHT limit, and tasks queued for a slot. Exits 1 if any region "
        "is over its limit (which the slot lock must never allow)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        over = False
        for region, usage in services.slot_usage().items():
            self.stdout.write(
                f"{region}: in_flight={usage['in_flight']}/{usage['limit']} queued={usage['queued']}"
            )
            over = over or usage["in_flight"] > usage["limit"]
        if over:
            self.stderr.write("A region is over its in-flight limit.")
            raise SystemExit(1)
