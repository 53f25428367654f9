"""What storage does on other apps' events, and how they tell storage a file is in use.

Storage cannot import the apps that reference its files (dependencies point
one way), so an app that keeps file references registers a function here that
returns the ids of files it still needs; ``purge_files`` leaves those alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from accounts.hooks import on_erasure

if TYPE_CHECKING:
    from accounts.models import User

InUse = Callable[[], Iterable[object]]

_in_use: list[tuple[str, InUse]] = []


def file_references(name: str) -> Callable[[InUse], InUse]:
    """Register ``fn() -> iterable of File ids`` still referenced by app ``name``."""

    def register(fn: InUse) -> InUse:
        _in_use[:] = [(n, f) for n, f in _in_use if n != name]
        _in_use.append((name, fn))
        return fn

    return register


def reference_checks() -> list[tuple[str, InUse]]:
    return list(_in_use)


def referenced_file_ids() -> set[str]:
    return {str(pk) for _name, fn in _in_use for pk in fn()}


@on_erasure("storage")
def erase_user_files(user: User) -> None:
    """Erasure: the user's files are soft-deleted and their objects removed after commit."""
    from storage.services import soft_delete_user_files

    soft_delete_user_files(user)
