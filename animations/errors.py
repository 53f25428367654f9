"""Animations' domain errors: each has a stable code a client can switch on."""

from __future__ import annotations

from config.errors import DomainError


class TaskNotFound(DomainError):
    code = "not_found"
    status_code = 404
    default_detail = "No such task."


class InputNotFound(DomainError):
    code = "file_not_found"
    status_code = 404
    default_detail = "No such file of yours."


class InvalidInput(DomainError):
    code = "invalid_input"
    status_code = 400
    default_detail = "The request's inputs are invalid."


class TaskNotCancelable(DomainError):
    code = "task_not_cancelable"
    status_code = 409
    default_detail = "The provider is already running this task; it can no longer be canceled."


class TaskNotRetryable(DomainError):
    code = "task_not_retryable"
    status_code = 409
    default_detail = "Only failed or canceled tasks can be retried."


class TaskNotRefundable(DomainError):
    code = "task_not_refundable"
    status_code = 409
    default_detail = "Only a succeeded task's charge can be refunded."
