"""How other apps tell storage a file is still in use.

Storage cannot import the apps that reference its files (dependencies point
one way), so an app that keeps file references registers a function here (a
``config.hooks.Registry``) that returns the ids of files it still needs;
``purge_files`` leaves those alone. Storage's own erasure hook is registered
with accounts in ``StorageConfig.ready()``, like every app's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from config.hooks import Registry

InUse = Callable[[], Iterable[object]]

in_use: Registry[InUse] = Registry()


def file_references(name: str) -> Callable[[InUse], InUse]:
    """Register ``fn() -> iterable of File ids`` still referenced by app ``name``."""
    return in_use.register(name)


def reference_checks() -> list[tuple[str, InUse]]:
    return in_use.items()


def referenced_file_ids() -> set[str]:
    return {str(pk) for fn in in_use for pk in fn()}
