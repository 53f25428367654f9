"""One shape for every registry an app offers, so that another app can plug in
while dependencies still point one way.

``accounts`` runs sign-up and erasure hooks, ``billing`` runs reservation checks,
``storage`` asks which files are still referenced: each keeps a ``Registry`` of
named functions, the app that depends on it registers with it from its
``AppConfig.ready()``, and the owner calls every function explicitly. It is a
plain, visible list, not a signal: ``names()`` shows what will run. Registering
a name again replaces its function in place, so a re-import never runs a hook
twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Registry(Generic[F]):
    """Named functions in registration order."""

    def __init__(self) -> None:
        self._entries: list[tuple[str, F]] = []

    def register(self, name: str) -> Callable[[F], F]:
        """Decorator: run ``fn`` under ``name`` (replacing what ``name`` had)."""

        def add(fn: F) -> F:
            if any(n == name for n, _ in self._entries):
                self._entries = [(n, fn if n == name else f) for n, f in self._entries]
            else:
                self._entries.append((name, fn))
            return fn

        return add

    def unregister(self, name: str) -> None:
        self._entries = [(n, f) for n, f in self._entries if n != name]

    def names(self) -> list[str]:
        return [n for n, _ in self._entries]

    def items(self) -> list[tuple[str, F]]:
        return list(self._entries)

    def __iter__(self) -> Iterator[F]:
        return iter([f for _, f in self._entries])

    def __len__(self) -> int:
        return len(self._entries)

    @contextmanager
    def override(self) -> Iterator[Registry[F]]:
        """Changes made inside the block are undone at its end (for tests)."""
        saved = list(self._entries)
        try:
            yield self
        finally:
            self._entries = saved

    def clear(self) -> None:
        self._entries = []
