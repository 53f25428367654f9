"""/metrics answers Prometheus on the private network, and nobody else."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("address", ["127.0.0.1", "172.18.0.5", "10.1.2.3", "::1"])
def test_a_direct_scrape_from_the_private_network_gets_the_metrics(client, address):
    response = client.get("/metrics", REMOTE_ADDR=address)

    assert response.status_code == 200
    assert b"# TYPE django_http_requests_total_by_method_total counter" in response.content
    assert b"animate_db_reads_total" in response.content


def test_a_public_address_gets_a_404_and_no_figures(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
    assert b"django_http" not in response.content


def test_a_request_relayed_by_a_proxy_gets_a_404(client):
    response = client.get("/metrics", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert response.status_code == 404


def test_the_allowed_networks_come_from_the_settings(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["203.0.113.0/24"]

    allowed = client.get("/metrics", REMOTE_ADDR="203.0.113.7")
    loopback = client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert allowed.status_code == 200
    assert loopback.status_code == 404


def test_with_several_processes_the_scrape_adds_their_files_and_reads_the_database(
    client, monkeypatch, tmp_path
):
    # Given another process (a gunicorn worker) that counted into the shared directory
    script = (
        "from prometheus_client import Counter;Counter('animate_other_process_total', 'x').inc(3)"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", script], env=env, check=True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    # When Prometheus scrapes this one
    page = client.get("/metrics").content.decode()

    # Then the other process's count is there, and so are the gauges read from the
    # database (which live in no process's files)
    assert "animate_other_process_total 3.0" in page
    for gauge in ("animate_storage_files", "animations_queue_depth", "billing_orders_pending"):
        assert f"# TYPE {gauge} gauge" in page, gauge
