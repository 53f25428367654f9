"""Poll one task at the provider now and print what happened."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from animations import services
from animations.models import AT_PROVIDER, AnimationTask


class Command(BaseCommand):
    help = (
        "Poll the provider for one task now (by our task id or the provider's task id), "
        "whatever its next poll time, and apply the answer with the usual idempotent steps."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("task_id")

    def handle(self, *args: Any, **options: Any) -> None:
        ident = options["task_id"]
        task = AnimationTask.objects.filter(provider_task_id=ident).first()
        if task is None:
            try:
                task = AnimationTask.objects.filter(pk=uuid.UUID(ident)).first()
            except ValueError:
                task = None
        if task is None:
            raise CommandError(f"No task {ident}.")
        if task.status not in AT_PROVIDER:
            raise CommandError(
                f"Task {task.pk} is {task.status}; only tasks at the provider are polled."
            )
        task = services.repoll(task)
        self.stdout.write(
            f"{task.pk} status={task.status} provider_status={task.provider_status} "
            f"polls={task.polls} error={task.error_code or '-'}"
        )
