"""Run the local DashScope simulator (the embedded default's provider)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from animations.simulator import Simulator


class Command(BaseCommand):
    help = (
        "Serve a local DashScope wan2.2-animate API on 127.0.0.1 (loopback only; it fetches "
        "only loopback input URLs). Durations are divided by --time-scale."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=settings.DASHSCOPE_SIMULATOR_PORT)
        parser.add_argument("--time-scale", type=float, default=settings.ANIMATIONS_TIME_SCALE)
        parser.add_argument("--max-concurrency", type=int, default=1)
        parser.add_argument("--failure-rate", type=float, default=0.0)
        parser.add_argument("--throttle-rate", type=float, default=0.0)
        parser.add_argument("--error-rate", type=float, default=0.0)
        parser.add_argument("--latency", type=float, default=0.0)
        parser.add_argument("--short-side", type=int, default=720)
        parser.add_argument("--jitter", type=float, default=0.0, help="Run time spread, e.g. 0.1.")

    def handle(self, *args: Any, **options: Any) -> None:
        sim = Simulator(
            port=options["port"],
            time_scale=options["time_scale"],
            max_concurrency=options["max_concurrency"],
            failure_rate=options["failure_rate"],
            throttle_rate=options["throttle_rate"],
            error_rate=options["error_rate"],
            latency=options["latency"],
            short_side=options["short_side"],
            jitter=options["jitter"],
        ).start()
        self.stdout.write(
            f"DashScope simulator on {sim.base_url} (time scale {sim.knobs.time_scale})"
        )
        # Whoever started it (make run, the benchmark) reads the URL from this line.
        self.stdout.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            sim.stop()
