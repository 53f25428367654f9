"""Billing's domain errors; ``config.errors.ExceptionHandler`` shapes them."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from config.errors import DomainError


class InsufficientCredits(DomainError):
    code = "insufficient_credits"
    status_code = 402
    default_detail = _("Not enough credits.")


class NoOpenReservation(DomainError):
    code = "no_open_reservation"
    status_code = 409
    default_detail = _("There is no open reservation to capture.")


class PackageUnavailable(DomainError):
    code = "package_unavailable"
    status_code = 400
    default_detail = _("This package is not on sale in this currency.")


class PaymentProviderUnavailable(DomainError):
    code = "payment_provider_unavailable"
    status_code = 503
    default_detail = _("The payment provider is unavailable; try again shortly.")


class PaymentProviderNotConfigured(DomainError):
    code = "payment_provider_not_configured"
    status_code = 503
    default_detail = _("This payment method is not configured.")


class InvalidSignature(DomainError):
    code = "invalid_signature"
    status_code = 400
    default_detail = _("The notification's signature is missing, invalid or stale.")


class InvalidNotification(DomainError):
    """Signed, but its content contradicts our order (amount, currency, merchant)."""

    code = "invalid_notification"
    status_code = 400
    default_detail = _("The notification does not match the order.")


class OrderNotRefundable(DomainError):
    code = "order_not_refundable"
    status_code = 409
    default_detail = _("Only a paid order with money left to refund can be refunded.")


class RefundBeforePayment(DomainError):
    """A refund notice overtook its payment's notice: refused, so it comes again."""

    code = "refund_before_payment"
    status_code = 409
    default_detail = _("The order is not paid yet; the refund will be applied after its payment.")


class EventProcessingFailed(DomainError):
    """Our failure, not the provider's: answered with an error so that it retries."""

    code = "event_processing_failed"
    status_code = 500
    default_detail = _("The notification could not be processed; it is kept for replay.")
