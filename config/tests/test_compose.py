"""docker-compose.yml and the Dockerfile agree with the code (no Docker engine runs here).

The compose file is parsed, not run: services, the variables they set, the
commands, ports and the replication wiring are checked against the settings,
``.env.example`` and the files they mount.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import environ
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web", "events", "worker", "beat")
MYSQL_SERVICES = ("db-primary", "db-replica1", "db-replica2")
# Variables the deployment sets that Django or prometheus_client read themselves.
FRAMEWORK_VARIABLES = {"DJANGO_SETTINGS_MODULE", "PROMETHEUS_MULTIPROC_DIR"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _env_example_names() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def _settings_source() -> str:
    return "\n".join(p.read_text() for p in (ROOT / "config/settings").glob("*.py"))


def _interpolated(value: str) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message} with placeholder values."""

    def sub(match: re.Match[str]) -> str:
        name, _, rest = match.group(1).partition(":")
        return rest[1:] if rest.startswith("-") else f"x{name.lower()}"

    return re.sub(r"\$\{([^}]+)\}", sub, value)


def _flags(command: list[str]) -> dict[str, str]:
    return dict(arg[2:].split("=", 1) for arg in command if arg.startswith("--") and "=" in arg)


def test_the_deployment_has_every_service(compose):
    assert set(compose["services"]) == {
        *APP_SERVICES,
        *MYSQL_SERVICES,
        "redis",
        "prometheus",
        "grafana",
    }


def test_app_services_set_only_variables_the_settings_read_and_document(compose):
    documented = _env_example_names()
    source = _settings_source()

    for name in APP_SERVICES:
        variables = set(compose["services"][name]["environment"])
        assert variables - documented == set(), name
        unread = {v for v in variables - FRAMEWORK_VARIABLES if f'"{v}"' not in source}
        assert unread == set(), name


def test_app_services_run_production_settings_on_the_primary_replicas_and_redis(compose):
    env = {k: _interpolated(str(v)) for k, v in compose["services"]["web"]["environment"].items()}
    services = set(compose["services"])

    primary = environ.Env.db_url_config(env["DATABASE_URL"])
    replicas = [environ.Env.db_url_config(u) for u in env["DATABASE_REPLICA_URLS"].split(",")]

    assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    assert importlib.util.find_spec(env["DJANGO_SETTINGS_MODULE"]) is not None
    assert (primary["ENGINE"], primary["HOST"], primary["NAME"]) == (
        "django.db.backends.mysql",
        "db-primary",
        "animate",
    )
    assert [(r["HOST"], r["NAME"]) for r in replicas] == [
        ("db-replica1", "animate"),
        ("db-replica2", "animate"),
    ]
    assert {primary["HOST"], *(r["HOST"] for r in replicas)} <= services
    for url in (env["REDIS_URL"], env["CELERY_BROKER_URL"]):
        assert re.fullmatch(r"redis://redis:6379/\d+", url)
    assert "web" in env["DJANGO_ALLOWED_HOSTS"].split(",")
    # Every app service gets the same settings; web and worker add only their metrics.
    web_env = dict(compose["services"]["web"]["environment"])
    assert web_env.pop("PROMETHEUS_MULTIPROC_DIR") == "/tmp/prometheus-multiproc"
    worker_env = dict(compose["services"]["worker"]["environment"])
    worker_metrics = ("PROMETHEUS_MULTIPROC_DIR", "WORKER_METRICS_PORT", "WORKER_METRICS_ADDRESS")
    assert {k: worker_env.pop(k) for k in worker_metrics} == {
        "PROMETHEUS_MULTIPROC_DIR": "/tmp/prometheus-multiproc",
        "WORKER_METRICS_PORT": "9808",
        "WORKER_METRICS_ADDRESS": "0.0.0.0",  # noqa: S104  (inside the compose network)
    }
    assert worker_env == web_env
    for name in ("migrate", "beat", "events"):
        assert compose["services"][name]["environment"] == web_env


def test_commands_point_at_real_modules(compose):
    services = compose["services"]
    web = services["web"]["command"]
    module, _, attribute = web[1].partition(":")

    assert web[0] == "gunicorn"
    assert hasattr(importlib.import_module(module), attribute)
    assert module == "config.wsgi"
    hooks = importlib.import_module(web[2].removeprefix("--config=python:"))
    assert callable(hooks.on_starting)
    assert callable(hooks.child_exit)
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    from celery import Celery

    assert isinstance(importlib.import_module("config").celery_app, Celery)
    assert importlib.import_module("config.celery").app.main == "animate"
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert (ROOT / "manage.py").exists()
    assert services["web"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }


def test_the_events_service_serves_the_live_stream_from_the_asgi_app_on_loopback(compose):
    # An async process (uvicorn), so an open stream holds no gunicorn worker; the
    # TLS proxy routes the stream's path to it on the host's loopback.
    events = compose["services"]["events"]
    command = events["command"]
    module, _, attribute = command[1].partition(":")
    asgi = importlib.import_module(module)
    flags = _flags(command)

    assert command[0] == "uvicorn"
    assert (module, attribute) == ("config.asgi", "application")
    assert callable(getattr(asgi, attribute))
    streamed = set(asgi.STREAM_PATHS)
    assert streamed == {"/api/tasks/events"}
    assert events["ports"] == [f"127.0.0.1:8001:{flags['port']}"]
    assert events["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert events["depends_on"]["redis"] == {"condition": "service_healthy"}
    requirements = (ROOT / "requirements/production.txt").read_text()
    assert re.search(r"^uvicorn==", requirements, flags=re.MULTILINE)


def test_ports_line_up_between_gunicorn_prometheus_and_grafana(compose):
    services = compose["services"]
    bind_port = _flags(services["web"]["command"])["bind"].rsplit(":", 1)[1]
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in scrape["scrape_configs"]}
    datasource = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"][0]

    assert services["web"]["ports"] == [f"{bind_port}:{bind_port}"]
    assert jobs["animate-web"]["metrics_path"] == "/metrics"
    assert jobs["animate-web"]["static_configs"][0]["targets"] == [f"web:{bind_port}"]
    # Prometheus and Grafana answer on the host's loopback only.
    assert services["prometheus"]["ports"] == ["127.0.0.1:9090:9090"]
    assert datasource["url"] == "http://prometheus:9090"
    assert services["grafana"]["ports"] == ["127.0.0.1:3000:3000"]


def test_only_web_is_published_beyond_the_hosts_loopback(compose):
    # Prometheus answers any query without a password, metrics /metrics hides
    # included; Grafana is for operators. Only the web service faces the network.
    published = {
        name: [p for p in service.get("ports", []) if not str(p).startswith("127.0.0.1:")]
        for name, service in compose["services"].items()
    }

    assert {name: ports for name, ports in published.items() if ports} == {"web": ["8000:8000"]}


def test_the_published_web_server_believes_no_ones_forwarded_headers(compose):
    # gunicorn's --forwarded-allow-ips=* on a published port would take the scheme,
    # SCRIPT_NAME and PATH_INFO from any client; its default trusts loopback only.
    command = compose["services"]["web"]["command"]

    assert not [arg for arg in command if arg.startswith("--forwarded-allow-ips")]
    assert "FORWARDED_ALLOW_IPS" not in compose["services"]["web"]["environment"]


def test_prometheus_scrapes_every_worker_and_loads_the_alerts(compose):
    services = compose["services"]
    prometheus = services["prometheus"]
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    [worker_job] = [j for j in scrape["scrape_configs"] if j["job_name"] == "animate-worker"]
    [discovery] = worker_job["dns_sd_configs"]
    worker_env = services["worker"]["environment"]

    # Every worker container (--scale worker=N) is a target, on the port it serves.
    assert discovery["names"] == ["worker"] and discovery["type"] == "A"
    assert str(discovery["port"]) == worker_env["WORKER_METRICS_PORT"]
    assert worker_job["metrics_path"] == "/metrics"
    assert worker_env["WORKER_METRICS_ADDRESS"] == "0.0.0.0"  # noqa: S104
    # Its pool processes count into a directory that is new with every start.
    assert services["worker"]["tmpfs"] == [worker_env["PROMETHEUS_MULTIPROC_DIR"]]
    assert "ports" not in services["worker"]  # reachable inside the compose network only
    # Prometheus gets the directory holding its config and the alerts it loads.
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert scrape["rule_files"] == ["alerts.yml"]
    assert (ROOT / "deploy/prometheus/alerts.yml").exists()


def test_the_replicas_follow_the_primary_by_gtid(compose):
    services = compose["services"]
    flags = {name: _flags(services[name]["command"]) for name in MYSQL_SERVICES}
    replica_script = (ROOT / "deploy/mysql/replica/10-replication.sh").read_text()
    primary_script = (ROOT / "deploy/mysql/primary/10-replication.sh").read_text()

    assert len({f["server-id"] for f in flags.values()}) == 3
    assert all(
        f["gtid-mode"] == "ON" and f["enforce-gtid-consistency"] == "ON" for f in flags.values()
    )
    assert "log-bin" in flags["db-primary"]
    for name in ("db-replica1", "db-replica2"):
        assert services[name]["image"].startswith("mysql:8")
        assert services[name]["environment"]["MYSQL_SOURCE_HOST"] == "db-primary"
        assert "./deploy/mysql/replica:/docker-entrypoint-initdb.d:ro" in services[name]["volumes"]
        assert services[name]["depends_on"]["db-primary"] == {"condition": "service_healthy"}
        # Replicas must not create the database themselves: it arrives by replication.
        assert "MYSQL_DATABASE" not in services[name]["environment"]
    assert (
        "./deploy/mysql/primary:/docker-entrypoint-initdb.d:ro" in services["db-primary"]["volumes"]
    )
    assert "SOURCE_AUTO_POSITION = 1" in replica_script
    assert "START REPLICA" in replica_script
    assert "GRANT REPLICATION SLAVE" in primary_script
    # The router reads SHOW REPLICA STATUS with the application's account.
    assert "GRANT REPLICATION CLIENT ON *.* TO '${MYSQL_USER}'" in primary_script


def test_every_mounted_file_exists(compose):
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_the_image_is_slim_non_root_and_collects_static_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, flags=re.MULTILINE)
    users = re.findall(r"^USER (\S+)", dockerfile, flags=re.MULTILINE)

    assert stages == ["python:3.11-slim", "build", "node:20-bookworm-slim", "python:3.11-slim"]
    assert "default-libmysqlclient-dev" in dockerfile
    assert "-r /tmp/requirements/production.txt" in dockerfile
    assert "manage.py collectstatic --noinput" in dockerfile
    assert users == ["app"]
    assert (ROOT / ".dockerignore").read_text().splitlines()[:3] == [".git", ".venv", "var"]


def test_the_image_build_step_passes_the_production_checks(tmp_path):
    # The variables the Dockerfile gives collectstatic must satisfy production.py.
    import os
    import subprocess
    import sys

    dockerfile = (ROOT / "Dockerfile").read_text()
    step = dockerfile[
        dockerfile.index("RUN DJANGO_SECRET_KEY=") : dockerfile.index(
            "python manage.py collectstatic"
        )
    ]
    build_env = dict(re.findall(r"([A-Z][A-Z0-9_]*)=(\S+)", step))
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "VAR_DIR": str(tmp_path / "var"),
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            **build_env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert "EMAIL_URL" in build_env
    assert result.returncode == 0, result.stderr


def test_the_image_serves_the_console_built_from_the_schema_of_its_own_code():
    dockerfile = (ROOT / "Dockerfile").read_text()

    # The client's types come from this code's schema, then the same build a CDN hosts.
    assert "manage.py spectacular --file /schema.yaml" in dockerfile
    assert "SCHEMA_FILE=/schema.yaml" in dockerfile and "npm run build" in dockerfile
    assert "npm ci" in dockerfile
    assert "COPY --from=console --chown=app:app /frontend/dist/ /app/frontend/dist/" in dockerfile
    # The zh-Hans catalogue is compiled in the image, not committed.
    assert "compilemessages" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {"frontend/node_modules", "frontend/dist", "*.mo"} <= set(ignored)
