from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from billing import services
from billing.models import CreditPackage


class Command(BaseCommand):
    help = (
        "Create the default credit packages (Starter, Standard, Pro with USD and CNY prices) "
        "when no package exists at all; an existing catalogue, even one with every package "
        "deactivated, is never touched, so this is safe to run twice. The first migrate does "
        "the same; edit packages in the admin afterwards."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if CreditPackage.objects.exists():
            self.stdout.write("Packages exist already; nothing to do.")
            return
        if options["dry_run"]:
            for name, credits, prices in services.DEFAULT_PACKAGES:
                self.stdout.write(f"would create {name}: {credits} credits, {prices}")
            return
        created = services.create_default_packages()
        self.stdout.write(f"Created {created} packages.")
