"""Prometheus: ``animate_storage_bytes{backend}``, the bytes of live files per backend
(and ``animate_storage_files{backend}``, how many).

Read from the database at scrape time (``services.usage_by_backend``, one
grouped SUM), so every process and every worker reports the same truth without
counters to keep in step.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import DatabaseError
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from config.metrics import register_database_collector


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily("animate_storage_bytes", "Bytes of live files", labels=["backend"]),
        GaugeMetricFamily("animate_storage_files", "Live files", labels=["backend"]),
    )


class StorageBytesCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from _families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from storage.services import usage_by_backend

        size, count = _families()
        try:
            rows = usage_by_backend()
        except DatabaseError:
            # A scrape during a database outage reports nothing rather than failing /metrics.
            return
        for row in rows:
            size.add_metric([row["backend"]], float(row["bytes"] or 0))
            count.add_metric([row["backend"]], float(row["files"]))
        yield size
        yield count


def register() -> None:
    register_database_collector(StorageBytesCollector())
