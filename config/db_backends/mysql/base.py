"""The MySQL backend for replica aliases: a failure takes the replica out at once.

Without this a replica that dies keeps receiving reads, each failing, until
the router's next health check. Here the first failure of a connection or a
query records a "down" verdict for the alias, so this process's next reads go
elsewhere; the regular check puts the replica back once it answers again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import OperationalError
from django.db.backends.mysql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute_wrappers.append(self._report_failure)

    def _mark_down(self, exc: Exception) -> None:
        from config.db_router import replica_health

        replica_health.mark_down(self.alias, error=f"failed: {exc.__class__.__name__}")

    def ensure_connection(self) -> None:
        try:
            super().ensure_connection()
        except OperationalError as exc:
            self._mark_down(exc)
            raise

    def _report_failure(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        try:
            return execute(sql, params, many, context)
        except OperationalError as exc:
            self._mark_down(exc)
            raise
