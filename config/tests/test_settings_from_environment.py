"""Settings come from the environment, with embedded defaults when it is empty."""

from __future__ import annotations

import json
from pathlib import Path

from config.tests.fresh_process import run_python

PROBE = """
import json
from django.conf import settings
print(json.dumps({
    alias: {"ENGINE": db["ENGINE"], "HOST": db.get("HOST", ""), "NAME": str(db["NAME"])}
    for alias, db in settings.DATABASES.items()
} | {
    "replicas": settings.DATABASE_REPLICAS,
    "cache": settings.CACHES["default"]["BACKEND"],
    "broker": settings.CELERY_BROKER_URL,
    "debug": settings.DEBUG,
    "control": settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("control_folder"),
}))
"""


def _settings(tmp_path: Path, **env: str) -> dict:
    result = run_python(
        "import django; django.setup()\n" + PROBE,
        tmp_path,
        {"DJANGO_SETTINGS_MODULE": "config.settings.base", **env},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_no_environment_at_all_gives_the_embedded_defaults(tmp_path):
    seen = _settings(tmp_path)

    assert seen == {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "HOST": "",
            "NAME": str(tmp_path / "var" / "db.sqlite3"),
        },
        "replicas": [],
        "cache": "django.core.cache.backends.locmem.LocMemCache",
        "broker": "filesystem://",
        "debug": False,
        "control": str(tmp_path / "var" / "celery" / "control"),
    }
    assert (tmp_path / "var" / "celery" / "out").is_dir()
    # Kombu's broadcast tables too, not ./control in whatever directory we ran from.
    assert (tmp_path / "var" / "celery" / "control").is_dir()


def test_the_designs_master_and_slave_variables_are_accepted(tmp_path):
    seen = _settings(
        tmp_path,
        DATABASE_URL_MASTER="mysql://app:pw@db-master:3306/animate",
        DATABASE_URL_SLAVE1="mysql://app:pw@db-slave1:3306/animate",
        DATABASE_URL_SLAVE2="mysql://app:pw@db-slave2:3306/animate",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )

    assert seen["replicas"] == ["replica1", "replica2"]
    assert seen["default"] == {
        "ENGINE": "django.db.backends.mysql",
        "HOST": "db-master",
        "NAME": "animate",
    }
    assert seen["replica1"] == {
        "ENGINE": "config.db_backends.mysql",
        "HOST": "db-slave1",
        "NAME": "animate",
    }
    assert seen["replica2"]["HOST"] == "db-slave2"
    assert seen["cache"] == "config.cache.RedisCache"
    assert seen["broker"] == "redis://127.0.0.1:6379/0"
    assert seen["control"] is None


def test_replica_urls_win_over_the_slave_aliases(tmp_path):
    seen = _settings(
        tmp_path,
        DATABASE_URL="mysql://app:pw@primary:3306/animate",
        DATABASE_REPLICA_URLS="mysql://app:pw@r1:3306/animate,mysql://app:pw@r2:3306/animate",
        DATABASE_URL_SLAVE1="mysql://app:pw@ignored:3306/animate",
    )

    assert seen["replicas"] == ["replica1", "replica2"]
    assert [seen["replica1"]["HOST"], seen["replica2"]["HOST"]] == ["r1", "r2"]
    assert seen["default"]["HOST"] == "primary"
