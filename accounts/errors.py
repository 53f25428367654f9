"""Domain errors of sign-in and accounts, each with a stable ``code`` clients switch on."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from config.errors import DomainError


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status_code = 400
    default_detail = _("Unable to sign in with the given email and password.")


class EmailTaken(DomainError):
    code = "email_taken"
    status_code = 400
    default_detail = _("An account with this email address already exists.")


class InvalidPassword(DomainError):
    code = "invalid_password"
    status_code = 400
    default_detail = _("This password is not allowed.")


class InvalidKey(DomainError):
    code = "invalid_key"
    status_code = 400
    default_detail = _("This link is invalid or has expired.")


class TooManyAttempts(DomainError):
    code = "throttled"
    status_code = 429
    default_detail = _("Too many attempts; try again later.")


class ProviderNotConfigured(DomainError):
    code = "provider_not_configured"
    status_code = 503
    default_detail = _("This sign-in method is not configured.")


class InvalidIdToken(DomainError):
    code = "invalid_token"
    status_code = 400
    default_detail = _("The identity token is invalid, expired or not meant for us.")


class SocialLoginFailed(DomainError):
    code = "social_login_failed"
    status_code = 400
    default_detail = _("The sign-in provider refused the request.")


class WeChatError(DomainError):
    """WeChat answers failures as HTTP 200 with ``errcode``; it is passed on."""

    code = "wechat_error"
    status_code = 400
    default_detail = _("WeChat refused the request.")


class ProviderUnavailable(DomainError):
    code = "provider_unavailable"
    status_code = 503
    default_detail = _("The sign-in provider could not be reached; try again shortly.")


class SocialAccountTaken(DomainError):
    code = "social_account_taken"
    status_code = 409
    default_detail = _("This provider account is already linked to another user.")


class SignupIncomplete(DomainError):
    code = "signup_incomplete"
    status_code = 409
    default_detail = _(
        "An account with this email already exists; sign in to it and link this provider."
    )


class AccountDisabled(DomainError):
    code = "account_disabled"
    status_code = 403
    default_detail = _("This account is disabled.")


class ReauthenticationRequired(DomainError):
    code = "reauthentication_required"
    status_code = 403
    default_detail = _("Confirm with your password, or sign in with your provider again.")


class NoEmailToVerify(DomainError):
    code = "no_email_to_verify"
    status_code = 409
    default_detail = _("The account has no unverified email address to send a verification to.")


class EmailNotSent(DomainError):
    code = "email_not_sent"
    status_code = 503
    default_detail = _("The mail server did not take the email; try again later.")


class ActionNotAllowed(DomainError):
    code = "not_allowed"
    status_code = 403
    default_detail = _("This action is not allowed on this account.")


class ProviderNotLinked(DomainError):
    code = "provider_not_linked"
    status_code = 404
    default_detail = _("This sign-in provider is not linked to your account.")


class LastSignInMethod(DomainError):
    code = "last_sign_in_method"
    status_code = 409
    default_detail = _(
        "This is your only way to sign in; set a password or link another provider first."
    )
