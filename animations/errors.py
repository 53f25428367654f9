"""Animations' domain errors: each has a stable code a client can switch on."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from config.errors import DomainError


class StreamNotServed(DomainError):
    """A WSGI server (gunicorn's sync workers) does not hold streams: poll instead."""

    code = "not_found"
    status_code = 404
    default_detail = _("Live updates are not served here; poll GET /api/tasks/{task_id}.")


class TaskNotFound(DomainError):
    code = "not_found"
    status_code = 404
    default_detail = _("No such task.")


class InputNotFound(DomainError):
    code = "file_not_found"
    status_code = 404
    default_detail = _("No such file of yours.")


class InvalidInput(DomainError):
    code = "invalid_input"
    status_code = 400
    default_detail = _("The request's inputs are invalid.")


class TaskNotCancelable(DomainError):
    code = "task_not_cancelable"
    status_code = 409
    default_detail = _("The provider is already running this task; it can no longer be canceled.")


class TaskNotRetryable(DomainError):
    code = "task_not_retryable"
    status_code = 409
    default_detail = _("Only failed or canceled tasks can be retried.")


class TaskNotRefundable(DomainError):
    code = "task_not_refundable"
    status_code = 409
    default_detail = _("Only a succeeded task's charge can be refunded.")


class IdempotencyKeyInUse(DomainError):
    code = "idempotency_key_in_use"
    status_code = 409
    default_detail = _(
        "A request with this Idempotency-Key is still being served; repeat it shortly "
        "to get its task."
    )
