from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing import services


class Command(BaseCommand):
    help = (
        "Check that every credit account equals the sum of its ledger entries (balance and "
        "reserved), that no reservation was released twice, that paid orders and purchase "
        "entries match one to one, and that open reservations match the live tasks of the "
        "apps that registered a check. Exits non-zero with a report on any drift; changes "
        "nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = services.check_ledger()
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"The ledger has drifted: {len(problems)} problem(s).")
        self.stdout.write("Ledger OK.")
