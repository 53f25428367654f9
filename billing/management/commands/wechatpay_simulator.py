"""Run the local WeChat Pay v3 simulator (the embedded default's WeChat Pay)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from billing.simulators import WechatPaySimulator, wechatpay_keys


class Command(BaseCommand):
    help = (
        "Serve a local WeChat Pay v3 gateway (native, H5 and JSAPI orders, query, close, "
        "refunds) and its pay pages on 127.0.0.1, signed with the merchant and platform keys "
        "under VAR_DIR/simulators/ that the embedded settings use; paying sends a signed, "
        "encrypted notification to the order's notify_url, retried on WeChat's schedule. "
        "Loopback only: it delivers to loopback URLs only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=settings.WECHATPAY_SIMULATOR_PORT)
        parser.add_argument(
            "--refund-seconds",
            type=float,
            default=1.0,
            help="Seconds until a refund succeeds and is notified (negative: never on its own).",
        )
        parser.add_argument(
            "--retry-delays",
            default="",
            help="Comma-separated seconds between delivery attempts (default: WeChat's).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        knobs: dict[str, Any] = {
            "refund_settle_seconds": None
            if options["refund_seconds"] < 0
            else options["refund_seconds"]
        }
        if options["retry_delays"]:
            knobs["retry_delays"] = tuple(float(s) for s in options["retry_delays"].split(","))
        sim = WechatPaySimulator(
            wechatpay_keys(settings.VAR_DIR), port=options["port"], **knobs
        ).start()
        self.stdout.write(f"WeChat Pay simulator on {sim.origin} (merchant {sim.keys.mchid})")
        # Whoever started it (make run, the tests) reads the URL from this line.
        self.stdout.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            sim.stop()
