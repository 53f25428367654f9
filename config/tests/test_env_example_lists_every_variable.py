"""Every environment variable the settings read is listed in .env.example."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# env.str("NAME", ...), env.int(\n "NAME"...), env.list(f"NAME_{x}") ...
READ = re.compile(r'env(?:\.\w+)?\(\s*(f?)"([A-Z][A-Z0-9_]*(?:\{[^}]*\}[A-Z0-9_]*)*)"')


def _read_by_settings() -> set[tuple[bool, str]]:
    source = "\n".join(p.read_text() for p in sorted((ROOT / "config/settings").glob("*.py")))
    return {(bool(f), name) for f, name in READ.findall(source)}


def test_every_variable_the_settings_read_is_in_env_example():
    documented = (ROOT / ".env.example").read_text()

    missing = []
    for templated, name in _read_by_settings():
        pattern = re.escape(name)
        if templated:
            # DATABASE_URL_SLAVE{n}, DASHSCOPE_API_KEY_{_region.upper()}: any instance will do.
            pattern = re.sub(r"\\\{.*?\\\}", r"\\w+", pattern)
        if not re.search(rf"(?<![A-Z0-9_]){pattern}(?![A-Z0-9_])", documented):
            missing.append(name)

    assert sorted(missing) == []


def test_the_scan_finds_the_platform_variables():
    names = {name for _, name in _read_by_settings()}

    assert {
        "DATABASE_URL",
        "DATABASE_REPLICA_URLS",
        "DATABASE_URL_SLAVE{n}",
        "DATABASE_PIN_SECONDS",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "DJANGO_SECRET_KEY",
        "CORS_ALLOWED_ORIGINS",
    } <= names
