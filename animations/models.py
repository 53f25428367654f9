"""The animation task: one user's request to animate an image with a video, and every
step of its life at the provider. The row is the source of truth; the dispatcher
only ever moves it forward with conditional updates."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class TaskType(models.TextChoices):
    MOVE = "move", "Move (image to action)"
    MIX = "mix", "Mix (video character swap)"


class Mode(models.TextChoices):
    STD = "wan-std", "Standard"
    PRO = "wan-pro", "Pro"


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    # Internal: a worker holds the provider slot and is sending (or has sent) the
    # create request; clients see "queued" until the provider has the task.
    SUBMITTING = "submitting", "Submitting"
    SUBMITTED = "submitted", "Submitted"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


MODELS = {TaskType.MOVE: "wan2.2-animate-move", TaskType.MIX: "wan2.2-animate-mix"}
IN_FLIGHT = (Status.SUBMITTING, Status.SUBMITTED, Status.RUNNING)
AT_PROVIDER = (Status.SUBMITTED, Status.RUNNING)
UNFINISHED = (Status.QUEUED, *IN_FLIGHT)
FINAL = (Status.SUCCEEDED, Status.FAILED, Status.CANCELED)


class AnimationTask(models.Model):
    """A move or mix job. Credits: ``credits_reserved`` is what every run reserved,
    ``credits_charged`` + ``credits_refunded`` what was settled; while a run is open
    its reservation is the difference. ``run`` counts the runs (1 + retries) and
    names each run's ledger ref, so a retry reserves afresh."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="animation_tasks"
    )
    type = models.CharField(max_length=8, choices=TaskType.choices)
    model = models.CharField(max_length=40)
    mode = models.CharField(max_length=8, choices=Mode.choices)
    watermark = models.BooleanField(default=False)
    region = models.CharField(max_length=8)
    image = models.ForeignKey("storage.File", on_delete=models.PROTECT, related_name="+", null=True)
    video = models.ForeignKey("storage.File", on_delete=models.PROTECT, related_name="+", null=True)
    video_duration = models.FloatField(help_text="Seconds of reference video.")
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    run = models.PositiveIntegerField(default=1)
    attempts = models.PositiveIntegerField(default=1, help_text="Runs started (1 + retries).")
    submit_tries = models.PositiveIntegerField(default=0, help_text="Create calls in this run.")
    submit_unknown = models.BooleanField(
        default=False, help_text="A create call's outcome is unknown: reconcile before resending."
    )
    submit_sent_at = models.DateTimeField(null=True, blank=True)

    provider_task_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    provider_status = models.CharField(max_length=12, blank=True, default="")
    provider_key_id = models.CharField(max_length=32, blank=True, default="")
    provider_request_ids = models.JSONField(default=list, blank=True)
    provider_responses = models.JSONField(default=list, blank=True)
    provider_result_url = models.TextField(blank=True, default="")
    polls = models.PositiveIntegerField(default=0)

    next_poll_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True, default="")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    provider_submit_time = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    provider_end_time = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    usage_duration = models.FloatField(null=True, blank=True)
    usage_ratio = models.CharField(max_length=16, blank=True, default="")
    credits_reserved = models.PositiveIntegerField(default=0)
    credits_charged = models.PositiveIntegerField(default=0)
    credits_refunded = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    result = models.ForeignKey(
        "storage.File", on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], name="animation_task_idempotency_unique"
            ),
            models.UniqueConstraint(
                fields=["provider_task_id"], name="animation_task_provider_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="animation_task_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(type__in=TaskType.values), name="animation_task_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(mode__in=Mode.values), name="animation_task_mode_valid"
            ),
            models.CheckConstraint(
                condition=Q(credits_reserved__gte=F("credits_charged") + F("credits_refunded")),
                name="animation_task_settled_within_reserved",
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | Q(result__isnull=False),
                name="animation_task_succeeded_has_result",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["submitted", "running"])
                | Q(provider_task_id__isnull=False),
                name="animation_task_at_provider_has_id",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_poll_at"], name="animation_task_due_idx"),
            models.Index(
                fields=["status", "region", "created_at"], name="animation_task_queue_idx"
            ),
            models.Index(fields=["user", "status", "created_at"], name="animation_task_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id} ({self.status})"

    @property
    def ref(self) -> str:
        """The ledger ref of the current run's reservation."""
        return (
            f"animation_task:{self.id}" if self.run == 1 else f"animation_task:{self.id}:{self.run}"
        )

    @property
    def open_credits(self) -> int:
        return self.credits_reserved - self.credits_charged - self.credits_refunded


class TaskRetry(models.Model):
    """A retry asked for with an ``Idempotency-Key``: a repeat of the key on the same
    task finds this row and changes nothing (no second run, nothing reserved again)."""

    task = models.ForeignKey(AnimationTask, on_delete=models.CASCADE, related_name="retries")
    idempotency_key = models.CharField(max_length=255)
    run = models.PositiveIntegerField(help_text="The run this retry started.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["task", "idempotency_key"], name="animation_retry_key_unique"
            )
        ]

    def __str__(self) -> str:
        return f"retry {self.run} of {self.task_id}"


class ProviderAccount(models.Model):
    """One row per region's DashScope key: locked while a provider slot is taken,
    so that all workers together keep to ``DASHSCOPE_MAX_IN_FLIGHT``."""

    region = models.CharField(max_length=8, primary_key=True)

    def __str__(self) -> str:
        return self.region
