"""Hooks other apps register with, so that dependencies point one way.

``accounts`` knows nothing of files, jobs or money. An app that must act when
a user signs up, has an email address verified or is erased registers a
function here from its ``AppConfig.ready()``; accounts' services call every registered function
explicitly, inside their own transaction. This is a plain, visible list, not a
signal: ``registered()`` shows what will run.

Erasure functions must be idempotent (erasing twice changes nothing more) and
must not call slow outside services inside the transaction: schedule that with
``transaction.on_commit``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from accounts.models import User

Hook = Callable[["User"], None]
# ``fn(user, email)``: ``email`` is the address just proved to be the user's.
EmailHook = Callable[["User", str], None]

_signup: list[tuple[str, Hook]] = []
_email_verified: list[tuple[str, EmailHook]] = []
_erasure: list[tuple[str, Hook]] = []


def on_signup(name: str) -> Callable[[Hook], Hook]:
    """Register ``fn(user)`` to run in the transaction that creates a user."""

    def register(fn: Hook) -> Hook:
        _add(_signup, name, fn)
        return fn

    return register


def on_email_verified(name: str) -> Callable[[EmailHook], EmailHook]:
    """Register ``fn(user, email)`` to run in the transaction that proves ``email``
    belongs to ``user``: a verification link followed, or a sign-in (or link) with
    a provider that vouches for the address (Google's ``email_verified``). It may
    run again for the same user and address, so it must be idempotent."""

    def register(fn: EmailHook) -> EmailHook:
        _add(_email_verified, name, fn)
        return fn

    return register


def on_erasure(name: str) -> Callable[[Hook], Hook]:
    """Register ``fn(user)`` to run in the transaction that erases a user."""

    def register(fn: Hook) -> Hook:
        _add(_erasure, name, fn)
        return fn

    return register


def _add(hooks: list[tuple[str, Any]], name: str, fn: Any) -> None:
    hooks[:] = [(n, f) for n, f in hooks if n != name]
    hooks.append((name, fn))


def run_signup_hooks(user: User) -> None:
    """Call every sign-up hook, in registration order; the caller holds the transaction."""
    for _name, fn in _signup:
        fn(user)


def run_email_verified_hooks(user: User, email: str) -> None:
    """Call every email-verified hook, in registration order; the caller holds the
    transaction."""
    for _name, fn in _email_verified:
        fn(user, email)


def run_erasure_hooks(user: User) -> None:
    """Call every erasure hook, in registration order; the caller holds the transaction."""
    for _name, fn in _erasure:
        fn(user)


def registered() -> dict[str, list[str]]:
    """The names of the registered hooks: what sign-up and erasure will run."""
    return {
        "signup": [n for n, _ in _signup],
        "email_verified": [n for n, _ in _email_verified],
        "erasure": [n for n, _ in _erasure],
    }


def unregister(name: str) -> None:
    """Remove the hooks registered under ``name`` (tests register their own)."""
    _signup[:] = [(n, f) for n, f in _signup if n != name]
    _email_verified[:] = [(n, f) for n, f in _email_verified if n != name]
    _erasure[:] = [(n, f) for n, f in _erasure if n != name]
