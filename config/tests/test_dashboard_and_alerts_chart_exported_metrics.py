"""Every metric a dashboard panel or an alert names is exported by the code: read
from the live /metrics of the web and of a real worker process, after a job and a
payment have run, so neither the dashboard nor the alerts can rot."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from animations.tests.conftest import TEST_TIME_SCALE, provider, simulator  # noqa: F401
from animations.tests.helpers import client_for, create, drive, final, funded_user
from billing import services as billing
from billing.tests.factories import CreditPackageFactory
from billing.tests.simulators import sign, stripe_simulator  # noqa: F401
from config.tests.worker_process import worker_process  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
# What Prometheus adds itself, for every target it scrapes.
SCRAPE_SERIES = {"up"}
NAME = re.compile(r"\b(?:animations|animate|billing|celery|django)_[a-z0-9_]+\b|\bup\b")
SELECTOR = re.compile(r"\b([a-z_][a-z0-9_]*)\{([^}]*)\}")
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("_count", "_sum"),
}


def _expressions() -> list[str]:
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/animate.json").read_text())
    alerts = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    charted = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    alerted = [r["expr"] for g in alerts["groups"] for r in g["rules"]]
    return charted + alerted


def _exported(*pages: str) -> tuple[set[str], dict[str, set[str]]]:
    """The series names the pages export (declared, even if nothing was counted
    yet) and, per name, the label names its samples carry."""
    names: set[str] = set()
    labels: dict[str, set[str]] = defaultdict(set)
    for page in pages:
        for family in text_string_to_metric_families(page):
            names.update(family.name + s for s in SUFFIXES.get(family.type, ("",)))
            for sample in family.samples:
                names.add(sample.name)
                labels[sample.name].update(sample.labels)
    return names, labels


def _value(page: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


@pytest.mark.django_db(transaction=True)
def test_every_metric_a_panel_or_an_alert_names_is_exported(
    provider,  # noqa: F811
    worker_process,  # noqa: F811
    stripe_simulator,  # noqa: F811
    client,
    settings,
) -> None:
    # Given a real worker process on the simulator, as the deployment runs it
    worker_process.env.update(
        DASHSCOPE_BASE_URL=provider.base_url,
        DASHSCOPE_API_KEY_CN="sk-test-cn",
        DASHSCOPE_API_KEY_GLOBAL="sk-test-global",
        ANIMATIONS_TIME_SCALE=str(TEST_TIME_SCALE),
        DASHSCOPE_MAX_IN_FLIGHT="1",
        DASHSCOPE_READ_TIMEOUT="3",
        SITE_URL=settings.SITE_URL,
        STORAGE_ALLOW_LOOPBACK_IMPORTS="true",
        STORAGE_MIRROR_ATTEMPTS="1",
    )
    worker_process.start()
    # When a job runs through it to its stored result
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    drive(final(task_id), via_worker=True, timeout=90)
    assert client_for(user).get(f"/api/tasks/{task_id}").json()["status"] == "succeeded"
    # And a payment is notified and settled
    order = billing.create_stripe_order(
        user, package_id=CreditPackageFactory(credits=500, prices={"USD": 999}).pk
    )
    paid = json.dumps(
        stripe_simulator.event(
            "checkout.session.completed", stripe_simulator.pay(order.provider_session_id)
        )
    )
    response = client.post(
        "/api/payments/webhook/stripe",
        paid,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(paid),
    )
    assert response.status_code == 200
    # Then the web's and the worker's /metrics say so
    web = client.get("/metrics").content.decode()
    worker = worker_process.scrape()
    assert _value(worker, "animations_tasks_finished_total", status="succeeded") == 1
    assert _value(worker, "animations_submit_to_result_seconds_count") == 1
    assert _value(worker, "animations_provider_calls_total", kind="submit", outcome="200") == 1
    assert _value(worker, "celery_tasks_total", task="animations.tasks.dispatch") >= 1
    assert _value(web, "billing_webhooks_total", provider="stripe", outcome="processed") >= 1
    # And every metric the dashboard and the alerts name is among what they export
    names, labels = _exported(web, worker)
    expressions = _expressions()
    named = {n for e in expressions for n in NAME.findall(e)}
    assert {"animations_queue_depth", "celery_tasks_total", "billing_webhooks_total"} <= named
    assert sorted(named - names - SCRAPE_SERIES) == []
    # And every label a selector matches on is one those series carry
    for expression in expressions:
        for name, matchers in SELECTOR.findall(expression):
            if name in SCRAPE_SERIES or not labels.get(name):
                continue
            used = set(re.findall(r"([a-z_]+)\s*(?:=~|!~|!=|=)", matchers))
            assert used - labels[name] - {"job", "instance"} == set(), (name, used)
