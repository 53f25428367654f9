"""Register timing: how long POST /api/auth/register takes for a free address and
for a taken one. The contract answers a taken address with ``email_taken``, so
the two answers must not also differ in time (services.register validates and
hashes the password, and sends one email, on both paths). Prints figures; it is
not a test.

    DATABASE_URL=mysql://root@127.0.0.1:3306/animate_bench REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/register_bench.py [--rounds 40]

Production's Argon2 hasher, the locmem mail backend (an SMTP server adds the same
delay to both paths), throttles out of the way; the two kinds of request are
interleaved so that machine noise falls on both. A separate test database is
created and dropped.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("DATABASE_URL", "mysql://root@127.0.0.1:3306/animate_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()

    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)
    from django.conf import settings
    from django.core.cache import cache
    from django.test.utils import setup_databases, teardown_databases
    from rest_framework.test import APIClient

    from config.settings import base

    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS
    settings.ALLOWED_HOSTS = ["localhost"]
    rates = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
    rates.update(register_ip="100000/min", register_account="100000/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        client = APIClient(HTTP_HOST="localhost")
        password = "bench-orchard-77-lanterns"  # noqa: S105 (a bench account)
        taken = "taken@example.com"
        assert (
            client.post("/api/auth/register", {"email": taken, "password": password}).status_code
            == 201
        )
        timings: dict[str, list[float]] = {"free": [], "taken": []}
        for n in range(args.rounds):
            for kind, email in (("free", f"free{n}@example.com"), ("taken", taken)):
                cache.clear()  # allauth's per-address mail limit would skip a send
                started = time.perf_counter()
                response = client.post("/api/auth/register", {"email": email, "password": password})
                timings[kind].append((time.perf_counter() - started) * 1000)
                assert response.status_code == (201 if kind == "free" else 400), response.content
    finally:
        teardown_databases(old_config, verbosity=0)

    def line(kind: str) -> str:
        values = sorted(timings[kind])
        p90 = values[int(0.9 * (len(values) - 1))]
        return f"{kind:>5}: median {statistics.median(values):6.1f} ms  p90 {p90:6.1f} ms"

    print(f"POST /api/auth/register, {args.rounds} rounds, Argon2, locmem mail")
    print(line("free"))
    print(line("taken"))
    gap = statistics.median(timings["free"]) - statistics.median(timings["taken"])
    print(f"  gap: {gap:+.1f} ms (free - taken, medians)")


if __name__ == "__main__":
    main()
