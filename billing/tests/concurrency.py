"""Real threads on real database connections, for the races billing must survive."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def run_together(count: int, fn: Callable[[int], T]) -> list[T]:
    """Call ``fn(0)`` ... ``fn(count - 1)`` in as many threads, released at once, each
    on its own connection (closed at the end); the results in the order they came.
    A call that raises leaves no result, so an exact count of results catches it."""
    start = threading.Barrier(count)
    lock = threading.Lock()
    results: list[T] = []

    def run(n: int) -> None:
        try:
            start.wait()
            result = fn(n)
            with lock:
                results.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
