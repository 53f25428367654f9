"""Real threads on real database connections, for the races the platform must survive."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def run_together(count: int, fn: Callable[[int], T]) -> list[T]:
    """Call ``fn(0)`` ... ``fn(count - 1)`` in as many threads, released at once, each
    on its own connection (closed at the end); the results in the order they came.
    If any call raised, the first exception is raised here once all have finished,
    so a race that breaks something fails the test instead of vanishing in a thread."""
    start = threading.Barrier(count)
    lock = threading.Lock()
    results: list[T] = []
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            start.wait()
            result = fn(n)
            with lock:
                results.append(result)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
