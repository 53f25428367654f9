from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing import services


class Command(BaseCommand):
    help = (
        "Process stored provider notifications again: the failed (and never processed) ones "
        "with --failed, or those given with --ids. An event already processed is never "
        "applied twice, so this is safe to run twice. --dry-run lists what would be replayed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--failed", action="store_true")
        parser.add_argument("--ids", nargs="+", type=int, default=None)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["failed"] and not options["ids"]:
            raise CommandError("Say which events: --failed and/or --ids ...")
        results = services.replay_events(
            failed_only=options["failed"], ids=options["ids"], dry_run=options["dry_run"]
        )
        for event_id, status in results.items():
            self.stdout.write(f"{event_id} {status}")
        failures = sum(status.startswith("failed") for status in results.values())
        self.stdout.write(f"{len(results)} event(s), {failures} still failing")
        if failures and not options["dry_run"]:
            raise CommandError(f"{failures} event(s) still failing.")
