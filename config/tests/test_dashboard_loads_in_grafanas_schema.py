"""The provisioned dashboard is a dashboard of Grafana's schema (config/tests/grafana_schema.py),
laid out in the rows operators look for, on the provisioned Prometheus."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml

from config.tests.grafana_schema import dashboard_errors

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy/grafana/dashboards/animate.json"


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def test_the_dashboard_loads_in_grafanas_schema() -> None:
    assert dashboard_errors(_dashboard()) == []


def test_the_schema_check_finds_what_grafana_would_not_load() -> None:
    broken = copy.deepcopy(_dashboard())
    chart = next(p for p in broken["panels"] if p["type"] == "timeseries")
    chart["tittle"] = "a typo"
    chart["gridPos"]["h"] = "8"
    chart["options"]["legend"]["displayMode"] = "huge"
    del chart["targets"][0]["expr"]
    del broken["schemaVersion"]

    errors = dashboard_errors(broken)

    assert len(errors) == 5, errors
    assert any(e.endswith(".tittle: not a field of Panel") for e in errors)
    assert any(".gridPos.h: '8' is not an integer" in e for e in errors)
    assert any(".legend.displayMode: 'huge' not in" in e for e in errors)
    assert any(e.endswith(".expr: required by Dataquery") for e in errors)
    assert "dashboard.schemaVersion: required by Dashboard" in errors


def test_the_rows_are_jobs_money_storage_web_celery_replicas_and_panels_do_not_overlap() -> None:
    dashboard = _dashboard()
    panels = dashboard["panels"]
    rows = [p["title"] for p in panels if p["type"] == "row"]
    cells = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel"
                cells.add((x, y))

    assert rows == ["Jobs", "Money", "Storage", "Web", "Celery", "Replicas"]
    assert len({p["id"] for p in panels}) == len(panels)
    assert dashboard["schemaVersion"] == 39  # Grafana 11.2, compose's image
    assert "grafana/grafana:11.2" in (ROOT / "docker-compose.yml").read_text()


def test_every_query_uses_the_provisioned_prometheus() -> None:
    datasource = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"][0]
    provider = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/dashboards/animate.yml").read_text()
    )["providers"][0]
    wanted = {"type": datasource["type"], "uid": datasource["uid"]}

    for panel in _dashboard()["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == wanted, panel["title"]
        assert panel["targets"], panel["title"]
        assert all(t["datasource"] == wanted for t in panel["targets"]), panel["title"]
    assert provider["options"]["path"] == "/etc/grafana/dashboards"
