"""Prometheus: ``animate_storage_bytes{backend}``, the bytes of live files per backend.

Read from the database at scrape time (one grouped SUM), so every process and
every worker reports the same truth without counters to keep in step.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count, Sum
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

_registered = False


class StorageBytesCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("animate_storage_bytes", "Bytes of live files", labels=["backend"])
        yield GaugeMetricFamily("animate_storage_files", "Live files", labels=["backend"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from storage.models import File

        size = GaugeMetricFamily("animate_storage_bytes", "Bytes of live files", labels=["backend"])
        count = GaugeMetricFamily("animate_storage_files", "Live files", labels=["backend"])
        try:
            rows = list(
                File.objects.filter(deleted_at__isnull=True)
                .values("backend")
                .annotate(total=Sum("size"), files=Count("id"))
                .order_by("backend")
            )
        except DatabaseError:
            return
        for row in rows:
            size.add_metric([row["backend"]], float(row["total"] or 0))
            count.add_metric([row["backend"]], float(row["files"]))
        yield size
        yield count


def register() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(StorageBytesCollector())
        _registered = True
