"""Prometheus metrics of the animation pipeline (exported at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
TASKS_BY_STATUS = Gauge(
    "animations_tasks",
    "Tasks by status and type, refreshed by the dispatcher.",
    ["status", "type"],
)
QUEUE_DEPTH = Gauge(
    "animations_queue_depth", "Tasks waiting for a provider slot, by region.", ["region"]
)
SUBMIT_TO_RESULT = Histogram(
    "animations_submit_to_result_seconds",
    "From the provider accepting a task to our stored result.",
    buckets=(30, 60, 120, 180, 300, 600, 900, 1800, 3600, 10800),
)
CREDITS_CAPTURED = Counter(
    "animations_credits_captured_total", "Credits charged for succeeded tasks.", ["model", "mode"]
)
