"""The animation task: one user's request to animate an image with a video, and every
step of its life at the provider. The row is the source of truth; the dispatcher
only ever moves it forward with conditional updates."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


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


# Keyed by TaskType, a str enum: the plain strings a serializer validated index it too.
MODELS: dict[str, str] = {TaskType.MOVE: "wan2.2-animate-move", TaskType.MIX: "wan2.2-animate-mix"}
IN_FLIGHT = (Status.SUBMITTING, Status.SUBMITTED, Status.RUNNING)
AT_PROVIDER = (Status.SUBMITTED, Status.RUNNING)
UNFINISHED = (Status.QUEUED, *IN_FLIGHT)
FINAL = (Status.SUCCEEDED, Status.FAILED, Status.CANCELED)


class AnimationTask(models.Model):
    """A move or mix job. Credits: ``credits_reserved`` is what every run reserved,
    ``credits_charged`` (captured) + ``credits_released`` (given back unspent: a
    failed or canceled run, or what a success cost less than reserved) what was
    settled; while a run is open its reservation is the difference. A support
    refund of a charge is a ledger adjustment and changes none of them.
    ``attempts`` counts the runs (1 + retries) and names each run's ledger ref, so
    a retry reserves afresh (``start_new_run``)."""

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
    attempts = models.PositiveIntegerField(
        default=1, help_text="Runs started (1 + retries); the current run's number."
    )
    submit_tries = models.PositiveIntegerField(default=0, help_text="Create calls in this run.")
    submit_unknown = models.BooleanField(
        default=False, help_text="A create call's outcome is unknown: reconcile before resending."
    )
    submit_sent_at = models.DateTimeField(null=True, blank=True)
    submit_unreachable_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Since when this run's create calls could not reach the provider at all "
        "(nothing sent, no try spent); the task fails once that lasts "
        "ANIMATIONS_SUBMIT_UNREACHABLE_SECONDS.",
    )

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
    credits_released = models.PositiveIntegerField(
        default=0, help_text="Reserved credits given back unspent (the API's credits.refunded)."
    )
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
                condition=Q(credits_reserved__gte=F("credits_charged") + F("credits_released")),
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
        if self.attempts == 1:
            return f"animation_task:{self.id}"
        return f"animation_task:{self.id}:{self.attempts}"

    @property
    def open_credits(self) -> int:
        """What the current run still holds reserved."""
        return self.credits_reserved - self.credits_charged - self.credits_released

    def start_new_run(self, *, reserved: int) -> None:
        """Make this (finished) task the next run, queued: everything that belonged
        to the last run goes back to its default (``RUN_FIELDS``), the run number
        moves on (so its ledger ref is new) and ``reserved`` more credits count as
        reserved. What every run shares stays: inputs, the settled credits, the
        provider answers kept for support. The caller reserves and saves."""
        for name in RUN_FIELDS:
            field = self._meta.get_field(name)
            assert isinstance(field, models.Field)  # RUN_FIELDS names columns, not relations
            setattr(self, name, field.get_default())
        self.attempts += 1
        self.credits_reserved += reserved
        self.status = Status.QUEUED
        self.queued_at = timezone.now()


# What belongs to one run of a task: reset when a retry starts the next one.
RUN_FIELDS = (
    "submit_tries",
    "submit_unknown",
    "submit_sent_at",
    "submit_unreachable_since",
    "provider_task_id",
    "provider_status",
    "provider_key_id",
    "provider_result_url",
    "polls",
    "next_poll_at",
    "lease_until",
    "lease_owner",
    "submitted_at",
    "provider_submit_time",
    "started_at",
    "provider_end_time",
    "finished_at",
    "usage_duration",
    "usage_ratio",
    "error_code",
    "error_message",
    "result",
)


class TaskRetry(models.Model):
    """A retry asked for with an ``Idempotency-Key``: a repeat of the key on the same
    task finds this row and changes nothing (no second run, nothing reserved again)."""

    task = models.ForeignKey(AnimationTask, on_delete=models.CASCADE, related_name="retries")
    idempotency_key = models.CharField(max_length=255)
    attempt = models.PositiveIntegerField(help_text="The attempt (run number) this retry started.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["task", "idempotency_key"], name="animation_retry_key_unique"
            )
        ]

    def __str__(self) -> str:
        return f"retry {self.attempt} of {self.task_id}"


class CreateClaim(models.Model):
    """The ``Idempotency-Key`` of a create request that imports a URL, while that
    request is being served.

    It is committed before anything is imported, so a repeat of the key sent in
    parallel finds it, imports nothing and answers 409 ``idempotency_key_in_use``;
    once the task exists its own unique key answers repeats, and the claim is
    deleted (also when the request fails: the key may be used again). A claim
    whose request died is taken over after ``services.create.CLAIM_STALE``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    idempotency_key = models.CharField(max_length=255)
    token = models.CharField(max_length=32, help_text="Which request holds the claim.")
    claimed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], name="animation_create_claim_unique"
            )
        ]

    def __str__(self) -> str:
        return f"claim of {self.idempotency_key!r} by {self.user_id}"


class ProviderAccount(models.Model):
    """One row per region's DashScope key: locked while a provider slot is taken,
    so that all workers together keep to ``DASHSCOPE_MAX_IN_FLIGHT``."""

    region = models.CharField(max_length=8, primary_key=True)

    def __str__(self) -> str:
        return self.region


class TaskEvent(models.Model):
    """A change of one of the user's tasks, for live updates where there is no
    Redis (the embedded mode; ``animations.events``): the task JSON as it was
    published, read by the user's streams in id order. Only the user's last
    ``TASK_EVENTS_BACKLOG`` are kept."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    data = models.TextField(help_text="The task JSON, as GET /api/tasks/{id} answers it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "id"], name="animation_event_user_id")]

    def __str__(self) -> str:
        return f"event {self.pk} of {self.user_id}"
