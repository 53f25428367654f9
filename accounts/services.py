"""The rules of accounts and sign-in. Views, admin actions and commands call these.

Email/password, verification and password reset go through django-allauth's
flows (its password validation, rate limits, email-address records, signed
keys); social sign-in goes through allauth's ``complete_login`` so its account
matching and takeover protection apply. Tokens are simplejwt's
(``accounts.tokens``); revoking them is ``sign_out_everywhere``.
"""

from __future__ import annotations

import functools
import smtplib
import time
from dataclasses import dataclass
from typing import Any

import structlog
from allauth.account import app_settings as allauth_settings
from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.forms import ResetPasswordForm, UserTokenForm
from allauth.account.internal import flows as account_flows
from allauth.account.models import EmailAddress, get_emailconfirmation_model
from allauth.account.utils import setup_user_email
from allauth.core.exceptions import ImmediateHttpResponse, SignupClosedException
from allauth.core.internal.ratelimit import parse_rates
from allauth.socialaccount.internal import flows as social_flows
from allauth.socialaccount.models import SocialAccount, SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F
from django.http import HttpRequest
from django.urls import NoReverseMatch
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import hooks, social
from accounts.authentication import JoinedRead
from accounts.errors import (
    AccountDisabled,
    ActionNotAllowed,
    EmailNotSent,
    EmailTaken,
    InvalidCredentials,
    InvalidKey,
    InvalidPassword,
    LastSignInMethod,
    NoEmailToVerify,
    ProviderNotConfigured,
    ProviderNotLinked,
    ReauthenticationRequired,
    SignupIncomplete,
    SocialAccountTaken,
    SocialLoginFailed,
    TooManyAttempts,
)
from accounts.i18n import locale_tag
from accounts.models import User
from accounts.regions import region_for_request

logger = structlog.get_logger(__name__)

PASSWORD = "password"  # noqa: S105 - the name of a sign-in method, not a secret
# The contract's provider names and allauth's provider ids.
PROVIDER_IDS = {"google": "google", "wechat": "weixin"}


def normalize_email(email: str) -> str:
    """Emails are compared whole and case-insensitively: one spelling per address."""
    return email.strip().lower()


# Mailboxes that ignore dots in the local part (and googlemail is gmail).
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def canonical_email(email: str) -> str:
    """The mailbox an address delivers to, as far as one can tell from the outside:
    normalised, without a ``+tag`` in the local part, and for Gmail without dots.
    Accounts stay keyed by the address as typed; this decides what counts as "the
    same address" for the sign-up bonus and the per-address register throttle, so
    that ``a+1@`` and ``a+2@`` are one mailbox, not two bonuses."""
    local, at, domain = normalize_email(email).rpartition("@")
    if not at:
        return normalize_email(email)
    local = local.split("+", 1)[0] or local
    if domain in _DOTLESS_DOMAINS:
        local, domain = local.replace(".", ""), _DOTLESS_DOMAINS[domain]
    return f"{local}@{domain}"


def email_digest(email: str) -> str:
    """A keyed hash (HMAC-SHA256, ``ACCOUNTS_EMAIL_DIGEST_KEY``) of the canonical
    address: lets a rule remember an address after its account is erased (the
    sign-up bonus is once per address ever) without keeping the address itself."""
    return salted_hmac(
        "accounts.email_digest",
        canonical_email(email),
        secret=settings.ACCOUNTS_EMAIL_DIGEST_KEY,
        algorithm="sha256",
    ).hexdigest()


# Email and password ---------------------------------------------------------


def register(request: HttpRequest, *, email: str, password: str, display_name: str = "") -> User:
    """Create a user who signs in with email and password.

    The email must be unused by any account (allauth's unique-email rule); the
    password passes Django's validators. The user's region comes from the
    request. Sign-up hooks run in the creating transaction; the verification
    email is sent after it commits. No credits yet: the sign-up bonus waits for
    the address to be verified (``verify_email``).

    The contract answers a taken address with ``email_taken`` (a new user is
    signed in at once, so the answer cannot wait for the mailbox), which makes
    this an enumeration oracle; it is bounded instead (see docs/architecture.md,
    "Account enumeration"): per-address and per-IP throttles, and both answers
    cost the same: the password is validated and hashed before the address is
    looked at, and each sends one email, the verification link to a new
    address or, to the owner of a taken one, a note that someone tried it.
    """
    email = normalize_email(email)
    adapter = get_account_adapter(request)
    user: User = adapter.new_user(request)
    user.email = email
    user.display_name = display_name.strip()
    user.region = region_for_request(request)
    # The language the sign-up came in (Accept-Language): emails follow it.
    user.locale = locale_tag(translation.get_language() or settings.LANGUAGE_CODE)
    try:
        try:
            adapter.clean_password(password, user=user)
        except ValidationError as exc:
            raise InvalidPassword(" ".join(exc.messages), attr="password") from exc
        user.set_password(password)
        # allauth's rule (any account with this address, verified or not), and our column.
        if (
            account_flows.manage_email.assess_unique_email(email) is not True
            or User.objects.filter(email=email).exists()
        ):
            _send_or_log(request, "account_exists_email_failed", _tell_owner, email)
            raise EmailTaken(attr="email")
        try:
            with transaction.atomic():
                user.save()
                setup_user_email(request, user, [])
                hooks.run_signup_hooks(user)
        except IntegrityError as exc:
            # Two registrations raced past the check above; the unique email decided.
            raise EmailTaken(attr="email") from exc
        _send_or_log(
            request,
            "verification_email_failed",
            account_flows.email_verification.send_verification_email_for_user,
            user,
        )
    finally:
        # allauth notes the pending verification in the session; our clients hold
        # JWTs, so no session row or cookie may outlive the request.
        request.session.flush()
    return user


def _tell_owner(request: HttpRequest, email: str) -> None:
    """To the owner of a taken address: someone tried to sign up with it."""
    get_account_adapter(request).send_mail(
        "account/email/account_already_exists",
        email,
        {"email": email, "sign_in_url": settings.FRONTEND_URL},
    )


def _send_or_log(request: HttpRequest, event: str, send: Any, *args: Any) -> None:
    try:
        send(request, *args)
    except (smtplib.SMTPException, OSError):
        # The answer must not depend on the mail server: a failed mail is logged.
        logger.warning(event, exc_info=True)


def authenticate(request: HttpRequest, *, email: str, password: str) -> User:
    """The active user with this email and password, through allauth (which rate-limits failures)."""
    try:
        user = get_account_adapter(request).authenticate(
            request, email=normalize_email(email), password=password
        )
    except ValidationError as exc:
        raise TooManyAttempts(retry_after=_allauth_window("login_failed")) from exc
    if user is None or not user.is_active or user.erased_at is not None:
        raise InvalidCredentials()
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return user


def _allauth_window(action: str) -> int:
    # allauth does not say when one of its limits lifts; its longest window is safe.
    rates = parse_rates(allauth_settings.RATE_LIMITS.get(action))
    return int(max((r.duration for r in rates), default=60))


def verify_email(request: HttpRequest, *, key: str) -> EmailAddress:
    """Mark the address that allauth's signed ``key`` names as verified, and run the
    email-verified hooks (the sign-up bonus) in the same transaction."""
    confirmation = get_emailconfirmation_model().from_key(key)
    if confirmation is None:
        raise InvalidKey(attr="key")
    with transaction.atomic():
        address = confirmation.confirm(request)
        if address:
            hooks.run_email_verified_hooks(address.user, address.email)
    if not address:
        raise InvalidKey(attr="key")
    return address


def resend_verification_email(request: HttpRequest, user: User) -> EmailAddress:
    """Send the verification email again (the user's own ``POST /api/auth/email/resend``,
    or a support action) to the user's primary address that is not verified yet,
    through allauth (its key, its per-address cooldown). Refused: no such address
    (``no_email_to_verify``: none, or already verified), a disabled account
    (``account_disabled``), sent within the cooldown (``throttled``, with
    ``retry_after``: never a mail silently skipped), the mail server down
    (``email_not_sent``)."""
    if not user.is_active or user.erased_at is not None:
        raise AccountDisabled()
    address = (
        EmailAddress.objects.filter(user=user, verified=False).order_by("-primary", "pk").first()
    )
    if address is None:
        raise NoEmailToVerify()
    try:
        sent = account_flows.email_verification.send_verification_email_to_address(request, address)
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("verification_email_failed", user_id=str(user.id), exc_info=True)
        raise EmailNotSent() from exc
    if not sent:
        raise TooManyAttempts(
            "A verification email was sent a few minutes ago; wait before resending.",
            retry_after=_allauth_window("confirm_email"),
        )
    return address


def request_password_reset(request: HttpRequest, *, email: str) -> None:
    """Email a reset link if an active account has this address; say nothing either way."""
    form = ResetPasswordForm(data={"email": email})
    if not form.is_valid():
        return
    try:
        form.save(request)
    except (smtplib.SMTPException, OSError):
        # The answer must not differ from an unknown address's, mail server or not.
        logger.warning("password_reset_email_failed", exc_info=True)


def reset_password(request: HttpRequest, *, key: str, password: str) -> User:
    """Set a new password from allauth's ``<uidb36>-<token>`` key, and sign out everywhere.

    The token is bound to the old password hash, so a key works once.
    """
    uidb36, _sep, token = key.partition("-")
    form = UserTokenForm(data={"uidb36": uidb36, "key": token})
    if not form.is_valid():
        raise InvalidKey(attr="key")
    user: User = form.reset_user
    if not user.is_active or user.erased_at is not None:
        raise InvalidKey(attr="key")
    try:
        get_account_adapter(request).clean_password(password, user=user)
    except ValidationError as exc:
        raise InvalidPassword(" ".join(exc.messages), attr="password") from exc
    with transaction.atomic():
        account_flows.password_reset.reset_password(user, password)
        _revoke_tokens(user)
    account_flows.password_reset.finalize_password_reset(request, user)
    return user


# What a client may offer -----------------------------------------------------


def sign_in_methods(request: HttpRequest) -> dict[str, Any]:
    """How people sign in here: always email and password; Google and WeChat when
    configured (environment, else the admin's social applications), each with the
    public id the SPA starts the provider's flow with; None when not configured."""

    def app_id(provider_id: str) -> str | None:
        try:
            return social.get_provider(request, provider_id).app.client_id
        except ProviderNotConfigured:
            return None

    google, wechat = app_id(social.GOOGLE), app_id(social.WECHAT)
    return {
        "password": True,
        "google": {"client_id": google} if google else None,
        "wechat": {"app_id": wechat} if wechat else None,
    }


# Profile --------------------------------------------------------------------


def update_profile(
    user: User,
    *,
    display_name: str | None = None,
    avatar_url: str | None = None,
    locale: str | None = None,
) -> User:
    """Change what the user may change about themselves; fields left None stay."""
    fields = {"display_name": display_name, "avatar_url": avatar_url, "locale": locale}
    changed = [name for name, value in fields.items() if value is not None]
    for name in changed:
        setattr(user, name, fields[name])
    if changed:
        with transaction.atomic():
            user.save(update_fields=changed)
    return user


# Social sign-in -------------------------------------------------------------


@dataclass(frozen=True)
class SocialResult:
    user: User
    created: bool


def social_sign_in(
    request: HttpRequest, sociallogin: SocialLogin, *, link_to: User | None = None
) -> SocialResult:
    """Sign in (or sign up) with a provider account, or link it to ``link_to``.

    allauth's login flow decides: a known provider account signs its user in; a
    verified email from a provider that may authenticate by email (Google)
    joins the account with that email (wiping a password set by whoever
    registered the address without verifying it); an unverified or absent
    email never takes an existing account over: it creates a new user, or, if
    the email is taken, stops with ``SignupIncomplete``. A provider account
    linked to someone else is never moved (``SocialAccountTaken``).
    """
    # allauth's flow expects a plain Django request with a session.
    request.user = link_to if link_to is not None else AnonymousUser()
    sociallogin.state = {"process": AuthProcess.CONNECT if link_to else AuthProcess.LOGIN}
    try:
        with transaction.atomic():
            social_flows.login.complete_login(request, sociallogin, raises=True)
            _provider_verified_emails(link_to or request.user, sociallogin)
    except NoReverseMatch as exc:
        # allauth parks a sign-up it cannot finish (the email belongs to another
        # account) and redirects to its own sign-up page, which an API lacks.
        if social_flows.signup.get_pending_signup(request) is not None:
            social_flows.signup.clear_pending_signup(request)
            raise SignupIncomplete() from exc
        raise
    except ValidationError as exc:
        if getattr(exc, "code", None) == "connected_other":
            raise SocialAccountTaken() from exc
        raise SocialLoginFailed(" ".join(exc.messages)) from exc
    except (SignupClosedException, ImmediateHttpResponse) as exc:
        raise SocialLoginFailed() from exc
    finally:
        # The session only carried allauth's flow; our clients hold JWTs, and no
        # session row or cookie should outlive this request, whatever happened.
        request.session.flush()
    if link_to is not None:
        return SocialResult(user=link_to, created=False)
    user = request.user
    if user.is_authenticated:
        return SocialResult(user=user, created=bool(sociallogin.state.get("created")))
    if sociallogin.user is not None and not sociallogin.user.is_active:
        raise AccountDisabled()
    raise SocialLoginFailed()


def _provider_verified_emails(user: User | AnonymousUser, sociallogin: SocialLogin) -> None:
    """A provider that vouched for an address (Google's ``email_verified``) proved
    it is the signed-in user's: the email-verified hooks run, in the sign-in's
    transaction. An unverified or absent email (WeChat) proves nothing."""
    if not user.is_authenticated:
        return
    for address in sociallogin.email_addresses:
        if address.verified and address.email:
            hooks.run_email_verified_hooks(user, normalize_email(address.email))


def unlink_provider(request: HttpRequest, user: User, provider: str) -> None:
    """Unlink every account of ``provider`` (``google`` or ``wechat``) from ``user``.

    allauth's disconnect rule applies (the last provider goes only if a usable
    password stays), and ours on top (``SocialAccountAdapter.validate_disconnect``:
    a password signs in only with an email), so an account is never left with no
    way to sign in (``last_sign_in_method``). The user row is locked first: two
    unlinks at once cannot each take one of the last two methods.
    """
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        accounts = list(SocialAccount.objects.filter(user=locked, provider=PROVIDER_IDS[provider]))
        if not accounts:
            raise ProviderNotLinked()
        for account in accounts:
            account.user = locked
            try:
                social_flows.connect.validate_disconnect(request, account)
            except ValidationError as exc:
                raise LastSignInMethod() from exc
            # allauth's disconnect flow would also look the provider's app up, and
            # a provider since unconfigured must not keep its accounts linked.
            account.delete()


# Tokens and the end of an account -------------------------------------------


def _revoke_tokens(user: User) -> None:
    User.objects.filter(pk=user.pk).update(token_generation=F("token_generation") + 1)
    user.refresh_from_db(fields=["token_generation"])
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=t) for t in outstanding], ignore_conflicts=True
    )


def logout(*, refresh: str) -> None:
    """Blacklist this refresh token; its access token dies at expiry (minutes)."""
    try:
        with transaction.atomic():
            # simplejwt annotates the argument as a Token; it is the encoded string.
            RefreshToken(refresh).blacklist()  # type: ignore[arg-type]
    except TokenError as exc:
        raise InvalidKey("The refresh token is invalid or expired.", attr="refresh") from exc


def sign_out_everywhere(user: User) -> None:
    """Every token issued to ``user`` so far stops working, access tokens included."""
    with transaction.atomic():
        _revoke_tokens(user)


def deactivate(user: User, *, by: User | None = None) -> None:
    """Disable the account (support action): no sign-in, and its tokens stop working.

    Staff ``by`` may not disable themselves, an account already disabled, or a
    superuser unless they are one (``not_allowed``).
    """
    if by is not None:
        if user.pk == by.pk:
            raise ActionNotAllowed("You cannot deactivate your own account.")
        if not user.is_active:
            raise ActionNotAllowed("The account is already deactivated.")
        if user.is_superuser and not by.is_superuser:
            raise ActionNotAllowed("Only a superuser may deactivate a superuser.")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        _revoke_tokens(user)


def check_reauthentication(
    request: HttpRequest,
    user: User,
    *,
    password: str | None,
    auth_method: str | None,
    auth_time: int | None,
) -> None:
    """The user proved who they are just now: their password, or a social sign-in
    no older than ``ACCOUNTS_REAUTH_MAX_AGE`` seconds (for accounts without one).

    A password is checked the way sign-in checks it, through allauth's adapter,
    so wrong ones count towards the same failed-login limit of the account's
    email: a signed-in token is no password oracle, and a lockout earned at
    login holds here too (``TooManyAttempts``, 429).
    """
    if password:
        if user.has_usable_password() and _password_matches(request, user, password):
            return
        raise InvalidCredentials(_("The password is incorrect."), attr="password")
    fresh = auth_time is not None and time.time() - auth_time <= settings.ACCOUNTS_REAUTH_MAX_AGE
    if auth_method and auth_method != PASSWORD and fresh:
        return
    raise ReauthenticationRequired()


def _password_matches(request: HttpRequest, user: User, password: str) -> bool:
    if not user.email:
        # No email, no allauth login key: the per-account throttle of the view bounds it.
        return user.check_password(password)
    try:
        found = get_account_adapter(request).authenticate(
            request, email=user.email, password=password
        )
    except ValidationError as exc:
        raise TooManyAttempts(retry_after=_allauth_window("login_failed")) from exc
    return found is not None and found.pk == user.pk


def erase_account(user: User) -> None:
    """Erase the user's personal data and disable the account, for good.

    Email, names, avatar, email addresses and social accounts (uid, extra data,
    provider tokens) are deleted, and the admin history stops naming the user; the password becomes unusable; every token is
    revoked. The user row stays (anonymous) so records that law makes us keep
    still point somewhere. Other apps' erasure hooks run in this transaction.
    Erasing twice changes nothing more.
    """
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.erased_at is not None:
            return
        hooks.run_erasure_hooks(locked)
        SocialAccount.objects.filter(user=locked).delete()
        EmailAddress.objects.filter(user=locked).delete()
        # The admin's history names the user by their email (``str(user)``).
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(User), object_id=str(locked.pk)
        ).update(object_repr=str(locked.pk))
        locked.email = None
        locked.display_name = ""
        locked.avatar_url = ""
        locked.set_unusable_password()
        locked.is_active = False
        locked.erased_at = timezone.now()
        locked.save(
            update_fields=[
                "email",
                "display_name",
                "avatar_url",
                "password",
                "is_active",
                "erased_at",
            ]
        )
        _revoke_tokens(locked)
    user.refresh_from_db()


@dataclass(frozen=True)
class SignInLinks:
    """How an account can sign in, as ``/api/auth/me`` shows it."""

    email_verified: bool  # its email is one of its verified addresses
    providers: tuple[str, ...]  # allauth's ids of its linked providers


def sign_in_links(user: User, joined: JoinedRead | None = None) -> SignInLinks:
    """The account's sign-in links: ``/api/auth/me`` is read on every page of the
    console, so where authentication could read them with the user
    (``sign_in_links_read``, in ``joined``) nothing more is asked; else both
    come in one ``UNION ALL`` whose SQL is built once per process, read where
    the router sends reads (Django compiling two querysets cost more than the
    queries)."""
    if joined is not None and joined.values is not None:
        verified, providers = joined.values
        return SignInLinks(
            email_verified=bool(verified),
            providers=tuple(p for p in (providers or "").split(",") if p),
        )
    alias = router.db_for_read(EmailAddress)
    connection = connections[alias]
    user_id = EmailAddress._meta.get_field("user").get_db_prep_value(user.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(_sign_in_links_sql(alias), [user_id, True, user_id])
        rows = cursor.fetchall()
    email = user.email.lower() if user.email else ""
    return SignInLinks(
        email_verified=bool(email)
        and any(value.lower() == email for source, value in rows if source == "e"),
        providers=tuple(value for source, value in rows if source == "s"),
    )


def sign_in_links_read(alias: str) -> JoinedRead:
    """The sign-in links as two columns read with the user (``JoinedRead``):
    whether its email is a verified address (1/0) and its linked providers
    (comma-separated), each a lookup by the user's id."""
    return JoinedRead(alias, columns=_sign_in_links_columns(alias), params=(True,))


@functools.cache
def _sign_in_links_columns(alias: str) -> str:
    q = connections[alias].ops.quote_name
    email, social = EmailAddress._meta, SocialAccount._meta
    user = User._meta

    def column(meta: Any, name: str) -> str:
        return q(meta.get_field(name).column)

    u = f"u.{q(user.pk.column)}"
    u_email = f"u.{column(user, 'email')}"
    # Identifiers from the models only; the values are parameters.
    return (
        f"({u_email} <> '' AND EXISTS(SELECT 1 FROM {q(email.db_table)} e "  # noqa: S608
        f"WHERE e.{column(email, 'user')} = {u} AND e.{column(email, 'verified')} = %s "
        f"AND LOWER(e.{column(email, 'email')}) = LOWER({u_email}))), "
        f"(SELECT GROUP_CONCAT(s.{column(social, 'provider')}) FROM {q(social.db_table)} s "
        f"WHERE s.{column(social, 'user')} = {u})"
    )


@functools.cache
def _sign_in_links_sql(alias: str) -> str:
    q = connections[alias].ops.quote_name
    email, social = EmailAddress._meta, SocialAccount._meta

    def column(meta: Any, name: str) -> str:
        return q(meta.get_field(name).column)

    # Identifiers from the models only; the values are parameters.
    return (
        f"SELECT 'e', {column(email, 'email')} FROM {q(email.db_table)} "  # noqa: S608
        f"WHERE {column(email, 'user')} = %s AND {column(email, 'verified')} = %s "
        f"UNION ALL SELECT 's', {column(social, 'provider')} FROM {q(social.db_table)} "
        f"WHERE {column(social, 'user')} = %s"
    )
