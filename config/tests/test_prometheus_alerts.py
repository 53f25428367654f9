"""The alerts compose's Prometheus loads: valid, unit-tested to fire and to stay
quiet (``promtool test rules``), and each with a runbook in docs/operations.md."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy/prometheus"
ALERTS = PROMETHEUS / "alerts.yml"
UNIT_TESTS = PROMETHEUS / "tests/alerts_test.yml"


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("promtool is missing (Debian package prometheus: scripts/system-packages)")
        pytest.skip("promtool is not installed (Debian package prometheus)")
    return subprocess.run(
        [promtool, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def _alerts() -> dict[str, dict]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


def test_promtool_accepts_the_rules_and_the_config_that_loads_them() -> None:
    rules = _promtool("check", "rules", str(ALERTS))
    config = _promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))

    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert config.returncode == 0, config.stdout + config.stderr
    assert f"{len(_alerts())} rules found" in rules.stdout


def test_the_unit_tests_make_every_alert_fire_and_stay_quiet_and_pass() -> None:
    tests = yaml.safe_load(UNIT_TESTS.read_text())
    checks = [c for t in tests["tests"] for c in t["alert_rule_test"]]
    fired = {c["alertname"] for c in checks if c.get("exp_alerts")}
    quiet = {c["alertname"] for c in checks if not c.get("exp_alerts")}

    assert tests["rule_files"] == ["../alerts.yml"]
    assert set(_alerts()) - fired == set(), "alerts no test makes fire"
    assert set(_alerts()) - quiet == set(), "alerts no test proves quiet"
    result = _promtool("test", "rules", str(UNIT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_severity_and_a_runbook_in_operations_md() -> None:
    operations = (ROOT / "docs/operations.md").read_text()
    headings = set(re.findall(r"^### (\w+)$", operations, flags=re.MULTILINE))

    for name, rule in _alerts().items():
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{name.lower()}", name
        assert name in headings, f"docs/operations.md has no runbook for {name}"
        section = operations.split(f"### {name}\n", 1)[1].split("\n### ", 1)[0]
        assert "**Means**" in section and "**Do**" in section, name
