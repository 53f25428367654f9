from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from billing.models import CreditPackage, PackagePrice

DEFAULTS = [
    ("Starter", 100, {"USD": 499, "CNY": 2900}),
    ("Standard", 500, {"USD": 1999, "CNY": 12900}),
    ("Pro", 1200, {"USD": 3999, "CNY": 25900}),
]


class Command(BaseCommand):
    help = (
        "Create the default credit packages (Starter, Standard, Pro with USD and CNY prices) "
        "when no package exists yet; an existing catalogue is never touched, so this is "
        "safe to run twice. Edit packages in the admin afterwards."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if CreditPackage.objects.exists():
            self.stdout.write("Packages exist already; nothing to do.")
            return
        if options["dry_run"]:
            for name, credits, prices in DEFAULTS:
                self.stdout.write(f"would create {name}: {credits} credits, {prices}")
            return
        with transaction.atomic():
            for ordering, (name, credits, prices) in enumerate(DEFAULTS):
                package = CreditPackage.objects.create(
                    name=name, credits=credits, ordering=ordering
                )
                for currency, amount in prices.items():
                    PackagePrice.objects.create(package=package, currency=currency, amount=amount)
        self.stdout.write(f"Created {len(DEFAULTS)} packages.")
