"""List (and with --recover, recover) tasks that have stopped moving."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from animations import services


class Command(BaseCommand):
    help = (
        "Unfinished tasks (submitting, submitted, running) past their lease (however "
        "recently: a live worker renews it) or untouched for --minutes are stuck. Lists them; "
        "--recover makes them due now so the dispatcher reconciles, polls and finishes them "
        "with its usual idempotent steps. Safe to run twice and from cron."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--minutes",
            type=float,
            default=30.0,
            help="Also list tasks untouched this long (default 30), leases aside.",
        )
        parser.add_argument("--recover", action="store_true", help="Make them due now.")
        parser.add_argument(
            "--dispatch", action="store_true", help="Run one dispatcher beat after."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stuck = services.stuck_tasks(older_than=timedelta(minutes=options["minutes"]))
        for task in stuck:
            self.stdout.write(
                f"{task.pk} {task.status} provider={task.provider_task_id or '-'} "
                f"provider_status={task.provider_status or '-'} updated={task.updated_at.isoformat()} "
                f"lease_until={task.lease_until.isoformat() if task.lease_until else '-'}"
            )
            if options["recover"]:
                services.recover_task(task)
        verb = "recovered" if options["recover"] else "found (dry run; --recover to act)"
        self.stdout.write(f"{len(stuck)} stuck task(s) {verb}.")
        if options["dispatch"]:
            report = services.dispatch()
            self.stdout.write(
                f"dispatch: reconciled={report.reconciled} submitted={report.submitted} polled={report.polled}"
            )
