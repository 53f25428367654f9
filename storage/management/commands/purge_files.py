from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from storage import services


class Command(BaseCommand):
    help = (
        "Remove the stored objects of files deleted more than N days ago, and of files "
        "older than N days that no app references (orphans; only when an app registered "
        "a reference check). Rows stay, marked purged. Dry run unless --execute."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")
        parser.add_argument("--execute", action="store_true", help="Really delete.")

    def handle(self, *args: Any, older_than: int, execute: bool, **options: Any) -> None:
        if older_than < 1:
            raise CommandError("--older-than must be at least 1 day.")
        plan = services.plan_purge(older_than=timedelta(days=older_than))
        self.stdout.write(
            f"deleted files to purge: {len(plan.deleted)}; orphaned files: {len(plan.orphaned)}"
        )
        if not plan.orphans_checked:
            self.stdout.write("no reference checks registered: orphans not considered")
        if not execute:
            for file_id in plan.file_ids:
                self.stdout.write(f"would purge {file_id}")
            self.stdout.write("dry run: nothing deleted (use --execute)")
            return
        purged = services.purge(plan)
        self.stdout.write(self.style.SUCCESS(f"purged {purged} file(s)"))
        if purged < len(plan.file_ids):
            raise CommandError(
                f"{len(plan.file_ids) - purged} file(s) could not be purged; see the log."
            )
