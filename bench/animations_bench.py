"""Animations benchmark: 1,000 tasks from 50 users through the real dispatcher,
client, limiter and HTTP simulator. Prints figures; it is not a test.

    DATABASE_URL=mysql://root@127.0.0.1:3306/animate_bench REDIS_URL=redis://127.0.0.1:6379/5 \
        .venv/bin/python bench/animations_bench.py [--tasks 1000 --users 50 --scale 20 --slots 50]

The simulator's clock runs ``--scale`` times faster and its concurrency is raised
to ``--slots``; our settings are scaled the same way (poll intervals, rate limits),
so every figure below is in simulated (provider) seconds. Inputs are created as
File rows through storage (no HTTP uploads); the simulator fetches them from a
real local WSGI server, as DashScope would from our signed URLs. One user is
heavy (a fifth of all tasks) to show fairness. A separate test database is
created and dropped.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("DATABASE_URL", "mysql://root@127.0.0.1:3306/animate_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--slots", type=int, default=50)
    parser.add_argument("--dispatchers", type=int, default=4)
    parser.add_argument("--short-side", type=int, default=360)
    args = parser.parse_args()

    import logging

    import django

    django.setup()
    # Per-request logs would drown the figures (and cost CPU the dispatcher needs).
    logging.disable(logging.INFO)
    import httpx
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *a: object) -> None:
            return

    media = tempfile.mkdtemp(prefix="animations-bench-")
    settings.MEDIA_ROOT = media
    settings.ANIMATIONS_TIME_SCALE = args.scale
    settings.DASHSCOPE_MAX_IN_FLIGHT = args.slots
    settings.STORAGE_ALLOW_LOOPBACK_IMPORTS = True
    settings.DEBUG = False
    from config.celery import app

    # Kicks on commit go nowhere: the benchmark's own dispatcher threads are the beat.
    app.conf.update(task_always_eager=False, broker_url="memory://")

    old_config = setup_databases(verbosity=0, interactive=False)
    web = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    web.set_app(get_wsgi_application())
    threading.Thread(target=web.serve_forever, daemon=True).start()
    settings.SITE_URL = f"http://127.0.0.1:{web.server_address[1]}"

    from accounts.tests.factories import UserFactory
    from animations import services
    from animations.models import FINAL, AnimationTask
    from animations.simulator.server import Knobs
    from billing import services as billing
    from billing.services import check_ledger
    from storage import services as storage
    from storage.tests.media import make_image, make_video

    # The provider runs in its own process, as it would on its own machine: its
    # input checks and HTTP handling do not compete with the dispatcher for the GIL.
    manage = Path(__file__).resolve().parent.parent / "manage.py"
    sim_proc = subprocess.Popen(
        [
            sys.executable,
            str(manage),
            "dashscope_simulator",
            "--port",
            "0",
            "--time-scale",
            str(args.scale),
            "--max-concurrency",
            str(args.slots),
            "--jitter",
            "0.1",
            "--short-side",
            str(args.short_side),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "LOG_LEVEL": "WARNING",
        },
    )
    assert sim_proc.stdout is not None
    sim_base = sim_proc.stdout.readline().split()[3]
    sim_origin = sim_base.removesuffix("/api/v1")
    settings.DASHSCOPE_BASE_URLS = {"cn": sim_base, "global": sim_base}
    settings.DASHSCOPE_API_KEYS = {"cn": "sk-bench", "global": "sk-bench"}
    try:
        print(f"setting up {args.users} users and {args.tasks} tasks ...", flush=True)
        image_bytes = make_image(400, 600)
        videos = {3.0: make_video(3.0, 320, 240, 5), 5.0: make_video(5.0, 320, 240, 5)}
        users = []
        for n in range(args.users):
            user = UserFactory(email=f"bench{n}@example.com")
            billing.grant_bonus(user, 100_000, key=f"bench:{n}")
            image = storage.store_upload(
                user, SimpleUploadedFile("i.jpg", image_bytes, "image/jpeg"), kind="image"
            )
            seconds = 3.0 if n % 2 else 5.0
            video = storage.store_upload(
                user, SimpleUploadedFile("v.mp4", videos[seconds], "video/mp4"), kind="video"
            )
            users.append((user, services.Inputs(image=image, video=video)))
        heavy_share = args.tasks // 5
        plan = [0] * heavy_share + [
            1 + i % (args.users - 1) for i in range(args.tasks - heavy_share)
        ]
        ids = []
        for i, n in enumerate(plan):
            user, inputs = users[n]
            task, _ = services.create_task(
                user,
                type="move" if i % 2 else "mix",
                mode="wan-std" if i % 3 else "wan-pro",
                inputs=inputs,
            )
            ids.append(task.pk)

        scale = args.scale
        print("dispatching ...", flush=True)
        done = threading.Event()
        started = time.time()
        # As in a deployment: the beat sends one dispatch every
        # ANIMATIONS_DISPATCH_INTERVAL provider seconds to a pool of workers, and
        # beats pile up in the queue while every worker is busy.
        beats: queue.Queue[None] = queue.Queue()

        def beat() -> None:
            while not done.wait(settings.ANIMATIONS_DISPATCH_INTERVAL / scale):
                beats.put(None)

        def dispatcher() -> None:
            try:
                while not done.is_set():
                    try:
                        beats.get(timeout=0.1)
                    except queue.Empty:
                        continue
                    services.dispatch()
            finally:
                connection.close()

        threads = [threading.Thread(target=dispatcher) for _ in range(args.dispatchers)]
        threads.append(threading.Thread(target=beat))
        for t in threads:
            t.start()
        last_report = 0.0
        while True:
            left = AnimationTask.objects.exclude(status__in=FINAL).count()
            if not left:
                break
            if time.time() - last_report > 10:
                print(f"  {time.time() - started:6.1f}s real: {left} unfinished", flush=True)
                last_report = time.time()
            time.sleep(0.5)
        done.set()
        for t in threads:
            t.join()
        wall = time.time() - started

        rows = list(AnimationTask.objects.filter(pk__in=ids).select_related("user"))
        by_status: dict[str, int] = {}
        for row in rows:
            by_status[row.status] = by_status.get(row.status, 0) + 1
        delays, waits, runs = [], [], []
        seen_delays: list[float] = []
        copy_delays: list[float] = []
        scaled_delays: list[float] = []
        user_waits: dict[str, float] = {}
        sim_tasks = {
            t["task_id"]: t for t in httpx.get(f"{sim_origin}/__sim__/tasks").json()["tasks"]
        }
        for row in rows:
            at = sim_tasks.get(row.provider_task_id or "")
            if row.status == "succeeded" and at is not None and at["end"]:
                seen = next(
                    r["at"]
                    for r in row.provider_responses
                    if r["kind"] == "query"
                    and r["body"].get("output", {}).get("task_status") == "SUCCEEDED"
                )
                seen_at = datetime.fromisoformat(seen).timestamp()
                # Waiting for the poll is provider time (scaled); the copy and
                # capture are our own work, which takes the same real seconds
                # against DashScope as here, so it is not multiplied.
                seen_delays.append((seen_at - at["end"]) * scale)
                copy_delays.append(row.finished_at.timestamp() - seen_at)
                delays.append(seen_delays[-1] + copy_delays[-1])
                scaled_delays.append((row.finished_at.timestamp() - at["end"]) * scale)
                runs.append((at["end"] - (at["scheduled"] or at["created"])) * scale)
            if row.submitted_at:
                wait = (row.submitted_at - row.created_at).total_seconds() * scale
                waits.append(wait)
                key = row.user.email
                user_waits[key] = max(user_waits.get(key, 0.0), wait)
        stats = httpx.get(f"{sim_origin}/__sim__/stats").json()

        def calls(kind: str, status: int | None = None) -> int:
            return sum(
                n
                for key, n in stats["calls"].items()
                if key.split()[0] == kind and status in (None, int(key.split()[1]))
            )

        queries = calls("query")
        submits = calls("submit")
        first = min(t["created"] for t in sim_tasks.values())
        last = max(t["end"] for t in sim_tasks.values() if t["end"])
        makespan = (last - first) * scale
        mean_busy = statistics.mean(runs) + Knobs().schedule_delay if runs else float("nan")
        capacity = args.slots / mean_busy
        throughput = len(runs) / makespan
        heavy = users[0][0].email
        others = [w for email, w in user_waits.items() if email != heavy]

        print()
        print(f"tasks                    {len(rows)} from {args.users} users: {by_status}")
        print(
            f"wall time                {wall:.1f} s real at time scale {scale:g} ({wall * scale:.0f} s simulated)"
        )
        print(
            f"provider queries/task    {queries / len(rows):.2f}  ({queries} queries, {submits} submits)"
        )
        print(
            f"queries per 20 s of run  {queries / (sum(runs) / 20):.2f}  "
            f"(target <= 1; mean run {statistics.mean(runs):.0f} s)"
        )
        print(
            f"detection delay          p50 {percentile(delays, 50):.1f} s, p95 {percentile(delays, 95):.1f} s, "
            f"max {max(delays):.1f} s  (target p95 < 10 s)"
        )
        print(
            f"  of which: seen by a poll p50 {percentile(seen_delays, 50):.1f} s, "
            f"p95 {percentile(seen_delays, 95):.1f} s; copy + capture (real s) p50 "
            f"{percentile(copy_delays, 50):.2f} s, p95 {percentile(copy_delays, 95):.2f} s"
        )
        print(
            f"  with our own work also x{scale:g}: p50 {percentile(scaled_delays, 50):.1f} s, "
            f"p95 {percentile(scaled_delays, 95):.1f} s  (pessimistic: the copy is not faster "
            "against a faster provider)"
        )
        print(
            f"throughput               {throughput * 60:.2f} tasks/min vs capacity {capacity * 60:.2f} "
            f"tasks/min = {throughput / capacity:.1%}  (target >= 90%)"
        )
        print(
            f"largest per-user wait    heavy user ({heavy_share} tasks) {user_waits.get(heavy, 0):.0f} s; "
            f"others max {max(others):.0f} s, median {statistics.median(others):.0f} s"
        )
        print(
            f"max requests in a second submit {stats['max_per_second']['submit']} (limit 5), "
            f"query {stats['max_per_second']['query']} (limit 20); "
            f"429s: {calls('submit', 429) + calls('query', 429)}"
        )
        problems = check_ledger()
        print(f"ledger check             {'OK' if not problems else problems[:5]}")
    finally:
        sim_proc.terminate()
        sim_proc.wait(timeout=10)
        web.shutdown()
        connection.close()
        teardown_databases(old_config, verbosity=0)
        import shutil

        shutil.rmtree(media, ignore_errors=True)


if __name__ == "__main__":
    main()
