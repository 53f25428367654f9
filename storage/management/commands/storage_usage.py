from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from storage import services


class Command(BaseCommand):
    help = "Report live (not deleted) files and bytes per backend and for the largest users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--top", type=int, default=20, help="How many users to list.")
        parser.add_argument("--json", action="store_true", help="Machine-readable output.")

    def handle(self, *args: Any, top: int, json: bool, **options: Any) -> None:
        backends = services.usage_by_backend()
        users = services.usage_by_user(limit=top)
        if json:
            self.stdout.write(_dumps({"backends": backends, "users": users}))
            return
        self.stdout.write("backend     files          bytes")
        for row in backends:
            self.stdout.write(f"{row['backend']:<8} {row['files']:>8} {row['bytes']:>14}")
        self.stdout.write("")
        self.stdout.write("user                                     backend  files          bytes")
        for row in users:
            who = row["owner__email"] or str(row["owner_id"])
            self.stdout.write(f"{who:<40} {row['backend']:<8} {row['files']:>5} {row['bytes']:>14}")


def _dumps(data: dict) -> str:
    return json.dumps(data, default=str, sort_keys=True)
