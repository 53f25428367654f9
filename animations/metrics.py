"""Prometheus metrics of the animation pipeline (exported at /metrics).

Counters and the histogram are incremented where things happen (the dispatcher
in a Celery worker, a cancel in a web request). The gauges of tasks by status,
queue depth and tasks in flight are read from the database at scrape time
(``TaskGaugesCollector``): the rows are the truth, and a gauge set by whichever
worker last ran the dispatcher would go stale in the others.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from config.metrics import register_database_collector

PROVIDER_CALLS = Counter(
    "animations_provider_calls_total",
    "DashScope calls by kind (submit, query, cancel) and outcome (HTTP status or error).",
    ["kind", "outcome"],
)
TASKS_FINISHED = Counter(
    "animations_tasks_finished_total",
    "Tasks that reached a final status, by status and type.",
    ["status", "type"],
)
TASK_FAILURES = Counter(
    "animations_task_failures_total",
    "Tasks that failed, by error code (the provider's, or ours such as result_unavailable).",
    ["code"],
)
SUBMIT_TO_RESULT = Histogram(
    "animations_submit_to_result_seconds",
    "From the provider accepting a task to our stored result.",
    buckets=(30, 60, 120, 180, 300, 600, 900, 1800, 3600, 10800),
)
CREDITS_CAPTURED = Counter(
    "animations_credits_captured_total", "Credits charged for succeeded tasks.", ["model", "mode"]
)


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(
            "animations_tasks", "Unfinished tasks by status and type.", labels=["status", "type"]
        ),
        GaugeMetricFamily(
            "animations_queue_depth",
            "Tasks waiting for a provider slot, by region.",
            labels=["region"],
        ),
        GaugeMetricFamily(
            "animations_in_flight",
            "Tasks holding a provider slot (submitting, submitted, running), by region.",
            labels=["region"],
        ),
    )


class TaskGaugesCollector(Collector):
    """Two grouped counts over the unfinished tasks, per scrape."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from _families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from animations.models import IN_FLIGHT, UNFINISHED, AnimationTask, Status, TaskType

        by_status, depth, in_flight = _families()
        regions = list(settings.DASHSCOPE_BASE_URLS)
        # Every pair is reported, zeros too: a status that emptied must read 0, not vanish.
        counts = {(status, kind): 0 for status in UNFINISHED for kind in TaskType.values}
        queued = dict.fromkeys(regions, 0)
        holding = dict.fromkeys(regions, 0)
        try:
            unfinished = AnimationTask.objects.filter(status__in=UNFINISHED)
            for row in unfinished.values("status", "type").annotate(n=Count("pk")):
                counts[(row["status"], row["type"])] = row["n"]
            for row in unfinished.values("status", "region").annotate(n=Count("pk")):
                if row["status"] == Status.QUEUED:
                    queued[row["region"]] = queued.get(row["region"], 0) + row["n"]
                elif row["status"] in IN_FLIGHT:
                    holding[row["region"]] = holding.get(row["region"], 0) + row["n"]
        except DatabaseError:
            # A scrape during a database outage reports nothing rather than failing /metrics.
            return
        for (status, kind), n in counts.items():
            by_status.add_metric([status, kind], n)
        for region in queued:
            depth.add_metric([region], queued[region])
            in_flight.add_metric([region], holding[region])
        yield by_status
        yield depth
        yield in_flight


def register() -> None:
    register_database_collector(TaskGaugesCollector())


TASK_EVENTS_PUBLISHED = Counter(
    "animations_task_events_published_total",
    "Task status changes published to their owner's live streams, by outcome "
    "(published; duplicate: a newer state of the task was published already; "
    "failed: the event store could not be reached, the change stands).",
    ["outcome"],
)
