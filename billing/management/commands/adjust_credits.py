from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing import services
from billing.errors import InsufficientCredits


class Command(BaseCommand):
    help = (
        "Grant (positive) or take (negative) credits from the account of <email>, with a "
        "required --reason, as a ledger adjustment. The adjustment is keyed by --key (by "
        "default the email, amount and reason), so running the same command twice adjusts "
        "once. Taking more than is available is refused. --dry-run shows the result only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("amount", type=int)
        parser.add_argument("--reason", required=True)
        parser.add_argument("--key", default="")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        reason = options["reason"].strip()
        if not reason:
            raise CommandError("--reason must say why.")
        if options["amount"] == 0:
            raise CommandError("The amount must not be 0.")
        user = get_user_model().objects.filter(email__iexact=options["email"]).first()
        if user is None:
            raise CommandError(f"No user with email {options['email']}.")
        digest = hashlib.sha256(f"{user.pk}|{options['amount']}|{reason}".encode()).hexdigest()[:32]
        key = options["key"] or f"cli-adjust:{digest}"
        account = services.account_for(user)
        if options["dry_run"]:
            self.stdout.write(
                f"would adjust {user.email} by {options['amount']:+d} "
                f"(balance {account.balance}, available {account.available}) key={key}"
            )
            return
        try:
            entry = services.adjust(user, options["amount"], reason=reason, key=key, staff=None)
        except InsufficientCredits as exc:
            raise CommandError(f"Refused: {exc.extra}") from exc
        self.stdout.write(
            f"{user.email}: entry {entry.pk} {entry.amount:+d}, balance {entry.balance_after}"
        )
