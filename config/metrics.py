"""``/metrics`` for Prometheus, and only for it.

The scrape comes straight from the monitoring network; a request from anywhere
else, or one relayed by a proxy (it carries ``X-Forwarded-For``), gets the same
404 as an unknown path, so view names and traffic figures are not public.

Two kinds of metric are exported. Counters and histograms live in each process
(with ``PROMETHEUS_MULTIPROC_DIR`` set, in files there, so gunicorn's workers,
or a Celery worker's pool processes, are added up). Gauges that describe the
database (tasks by status, queue depth, pending orders, stored bytes) are read
from it at scrape time by the collectors apps register with
``register_database_collector``, so every scrape tells the current truth
whichever process answers it; only the web's ``/metrics`` serves those.
"""

from __future__ import annotations

import ipaddress
import os
import threading
from collections.abc import Iterable

import prometheus_client
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from config.errors import json_404

# Seconds the database gauges may take at a scrape, all together. A hung database
# would otherwise hold the scrape for the connection's read timeout, past
# Prometheus's own scrape timeout, and the web would look down when only the
# database is.
COLLECT_TIMEOUT = 2.0


class DatabaseCollectors(Collector):
    """The collectors that read the database at scrape time, run together on a
    thread of their own with one deadline: past it the scrape goes on without their
    gauges (as in any database outage). While one run still waits on the database
    the next scrape does not start another. Inside a transaction (never a scrape;
    tests) they run inline: that transaction may hold rows no other connection sees."""

    def __init__(self) -> None:
        self.collectors: list[Collector] = []
        self._busy = threading.Lock()

    def describe(self) -> Iterable[Metric]:
        for collector in self.collectors:
            describe = getattr(collector, "describe", None)
            yield from describe() if describe is not None else []

    def _collect_all(self) -> list[Metric]:
        return [metric for collector in self.collectors for metric in collector.collect()]

    def collect(self) -> Iterable[Metric]:
        if connection.in_atomic_block:
            return self._collect_all()
        if not self._busy.acquire(blocking=False):
            return []
        result: list[Metric] = []
        finished = threading.Event()

        def run() -> None:
            try:
                result.extend(self._collect_all())
            finally:
                connection.close()  # this thread's own connection
                self._busy.release()
                finished.set()

        threading.Thread(target=run, name="metrics-database", daemon=True).start()
        return result if finished.wait(COLLECT_TIMEOUT) else []


_database = DatabaseCollectors()
REGISTRY.register(_database)


def register_database_collector(collector: Collector) -> None:
    """Export ``collector`` (one that reads the database at scrape time) at /metrics,
    bounded in time with the others (``DatabaseCollectors``)."""
    if any(type(c) is type(collector) for c in _database.collectors):
        return
    _database.collectors.append(collector)


def multiprocess_enabled() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def process_registry() -> CollectorRegistry:
    """What this deployment's processes counted: the files of every process when
    ``PROMETHEUS_MULTIPROC_DIR`` is set, else this process's own registry."""
    if not multiprocess_enabled():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def web_registry() -> CollectorRegistry:
    """The web's /metrics: the processes' metrics plus the database gauges."""
    if not multiprocess_enabled():
        return REGISTRY  # the database collectors are registered there
    registry = process_registry()
    registry.register(_database)
    return registry


def address_allowed(address: str) -> bool:
    """May a direct request from ``address`` read metrics (``METRICS_ALLOWED_NETWORKS``)?"""
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(net) for net in settings.METRICS_ALLOWED_NETWORKS)


def _allowed(request: HttpRequest) -> bool:
    if "HTTP_X_FORWARDED_FOR" in request.META:
        return False
    return address_allowed(request.META.get("REMOTE_ADDR", ""))


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return json_404(request)
    page = prometheus_client.generate_latest(web_registry())
    return HttpResponse(page, content_type=prometheus_client.CONTENT_TYPE_LATEST)
