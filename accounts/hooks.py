"""Hooks other apps register with, so that dependencies point one way.

``accounts`` knows nothing of files, jobs or money. An app that must act when
a user signs up, has an email address verified or is erased registers a function here from its
``AppConfig.ready()``; accounts' services call every registered function
explicitly, inside their own transaction. Each is a ``config.hooks.Registry``
(the platform's one registry shape): ``registered()`` shows what will run.

Erasure functions must be idempotent (erasing twice changes nothing more) and
must not call slow outside services inside the transaction: schedule that with
``transaction.on_commit``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from config.hooks import Registry

if TYPE_CHECKING:
    from accounts.models import User

# ``fn(user)``; what it returns (some report what they did) is not used.
Hook = Callable[["User"], object]
# ``fn(user, email)``: ``email`` is the address just proved to be the user's.
EmailHook = Callable[["User", str], object]

signup: Registry[Hook] = Registry()
email_verified: Registry[EmailHook] = Registry()
erasure: Registry[Hook] = Registry()


def on_signup(name: str) -> Callable[[Hook], Hook]:
    """Register ``fn(user)`` to run in the transaction that creates a user."""
    return signup.register(name)


def on_email_verified(name: str) -> Callable[[EmailHook], EmailHook]:
    """Register ``fn(user, email)`` to run in the transaction that proves ``email``
    belongs to ``user``: a verification link followed, or a sign-in (or link) with
    a provider that vouches for the address (Google's ``email_verified``). It may
    run again for the same user and address, so it must be idempotent."""
    return email_verified.register(name)


def on_erasure(name: str) -> Callable[[Hook], Hook]:
    """Register ``fn(user)`` to run in the transaction that erases a user."""
    return erasure.register(name)


def run_signup_hooks(user: User) -> None:
    """Call every sign-up hook, in registration order; the caller holds the transaction."""
    for fn in signup:
        fn(user)


def run_email_verified_hooks(user: User, email: str) -> None:
    """Call every email-verified hook, in registration order; the caller holds the
    transaction."""
    for fn in email_verified:
        fn(user, email)


def run_erasure_hooks(user: User) -> None:
    """Call every erasure hook, in registration order; the caller holds the transaction."""
    for fn in erasure:
        fn(user)


def registered() -> dict[str, list[str]]:
    """The names of the registered hooks: what sign-up, verification and erasure will run."""
    return {
        "signup": signup.names(),
        "email_verified": email_verified.names(),
        "erasure": erasure.names(),
    }


def unregister(name: str) -> None:
    """Remove the hooks registered under ``name`` (tests register their own)."""
    signup.unregister(name)
    email_verified.unregister(name)
    erasure.unregister(name)
