"""Live-updates benchmark: one events process (uvicorn, ``config.asgi``, production
settings, as the compose ``events`` service runs it) holds 1,000 concurrent
``GET /api/tasks/events`` streams; task status changes made by the real service
reach them; prints the process's RSS and the delivery delay. Not a test.

    DATABASE_URL=mysql://root@127.0.0.1:3306/animate_events_bench REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/events_bench.py [--streams 1000 --rounds 5]

Two phases, each with ``--streams`` streams open at once from raw asyncio sockets
in this process:

- **per user**: one stream for each of ``--streams`` users, each with one task;
  every task gets one status change (``submitting -> submitted`` through
  ``animations.services.submission._record_submitted``: its transaction, row
  lock and publish on commit), one after another from a thread. Each user's
  change must reach that user's stream, and only it.
- **fan-out**: ``--streams`` streams of one user; ``--rounds`` changes of one
  task, each delivered to every stream before the next is made.

The delay of an event is the moment its stream read it minus the moment the
service call that published it returned (one clock: all on this machine). The
publisher, the load client and the events process share its cores. A separate
database is created and dropped; Redis db ``REDIS_URL`` is flushed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("DATABASE_URL", "mysql://root@127.0.0.1:3306/animate_events_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")
JWT_KEY = "events-bench-jwt-signing-key-0123456789abcdef"
os.environ["JWT_SIGNING_KEY"] = JWT_KEY


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StreamClient:
    """One raw HTTP/1.1 stream: headers sent by hand, the body scanned for
    ``event: task`` frames (each frame is one chunk, so never split by framing)."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.connected = asyncio.Event()
        self.arrivals: list[float] = []
        self.bodies: list[bytes] = []
        self.got = asyncio.Event()
        self.writer: asyncio.StreamWriter | None = None

    async def run(self) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)
        self.writer.write(
            (
                "GET /api/tasks/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {self.token}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )
        await self.writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(head.decode(errors="replace"))
        buffer = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            now = time.time()
            buffer += chunk
            if not self.connected.is_set() and b": connected" in buffer:
                self.connected.set()
            while b"event: task\n" in buffer:
                start = buffer.index(b"event: task\n")
                end = buffer.find(b"\n\n", start)
                if end < 0:
                    break
                self.arrivals.append(now)
                self.bodies.append(buffer[start:end])
                buffer = buffer[end + 2 :]
                self.got.set()
            if len(buffer) > 8192:
                buffer = buffer[-4096:]

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * args.streams + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))  # the server inherits it

    import logging

    import django

    django.setup()
    logging.disable(logging.INFO)
    import redis
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User
    from animations.models import AnimationTask, Status
    from animations.services import submission

    old_config = setup_databases(verbosity=0, interactive=False)
    database = connection.settings_dict
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    port = free_port()
    server: subprocess.Popen[bytes] | None = None
    log = Path("var/events-bench.log")
    log.parent.mkdir(exist_ok=True)
    try:
        users = [
            User(email=f"bench{i:05d}@example.com", region="global")
            for i in range(args.streams + 1)
        ]
        for user in users:
            user.set_unusable_password()
        User.objects.bulk_create(users, batch_size=500)
        users = list(User.objects.order_by("email"))
        fan_user, users = users[0], users[1:]

        def token(user: User) -> str:
            access = AccessToken.for_user(user)
            access["gen"] = user.token_generation
            return str(access)

        def new_task(user: User) -> AnimationTask:
            return AnimationTask(
                user=user,
                type="move",
                model="wan2.2-animate-move",
                mode="wan-std",
                region="global",
                video_duration=3.0,
                credits_reserved=12,
                status=Status.SUBMITTING,
                lease_owner="bench",
            )

        AnimationTask.objects.bulk_create([new_task(u) for u in users], batch_size=500)
        tasks = {t.user_id: t for t in AnimationTask.objects.all()}

        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))},
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": "events-bench-secret-key-0123456789abcdef",
            "JWT_SIGNING_KEY": JWT_KEY,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "EMAIL_URL": f"smtp://127.0.0.1:{free_port()}",
            "DATABASE_URL": (
                f"mysql://{database['USER']}@{database['HOST']}:{database['PORT']}/"
                f"{database['NAME']}"
            ),
            "REDIS_URL": settings.REDIS_URL,
            "LOG_LEVEL": "WARNING",
        }
        with log.open("wb") as out:
            server = subprocess.Popen(
                [
                    *(sys.executable, "-m", "uvicorn", "config.asgi:application"),
                    *("--host=127.0.0.1", f"--port={port}", "--no-access-log"),
                    "--log-level=warning",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the events process did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        idle_rss = rss_mb(server.pid)

        async def open_all(tokens: list[str]) -> tuple[list[StreamClient], list[asyncio.Task]]:
            clients = [StreamClient(port, t) for t in tokens]
            runners = []
            began = time.monotonic()
            for i in range(0, len(clients), 100):  # a connection burst the backlog takes
                batch = clients[i : i + 100]
                runners += [asyncio.create_task(c.run()) for c in batch]
                await asyncio.wait_for(
                    asyncio.gather(*(c.connected.wait() for c in batch)), timeout=120
                )
            print(f"  {len(clients)} streams open in {time.monotonic() - began:.1f} s")
            return clients, runners

        async def per_user() -> tuple[list[float], float, int]:
            clients, runners = await open_all([token(u) for u in users])
            rss = rss_mb(server.pid)
            published: dict[int, float] = {}

            def publish() -> None:
                for i, user in enumerate(users):
                    submission._record_submitted(
                        tasks[user.pk], "bench", f"bench-{uuid.uuid4().hex}", raw={}, key_id="b"
                    )
                    published[i] = time.time()
                connection.close()

            began = time.monotonic()
            thread = threading.Thread(target=publish)
            thread.start()
            await asyncio.wait_for(asyncio.gather(*(c.got.wait() for c in clients)), 300)
            thread.join()
            spent = time.monotonic() - began
            wrong = sum(
                1
                for user, c in zip(users, clients, strict=True)
                if len(c.bodies) != 1 or str(tasks[user.pk].pk).encode() not in c.bodies[0]
            )
            delays = [c.arrivals[0] - published[i] for i, c in enumerate(clients)]
            rss = max(rss, rss_mb(server.pid))
            for c in clients:
                c.close()
            for r in runners:
                r.cancel()
            await asyncio.gather(*runners, return_exceptions=True)
            print(f"  {len(users)} changes published and delivered in {spent:.1f} s")
            return delays, rss, wrong

        fan_task = AnimationTask.objects.create(
            **{
                f.name: getattr(new_task(fan_user), f.name)
                for f in AnimationTask._meta.concrete_fields
                if f.name not in {"id", "created_at", "updated_at"}
            }
        )

        def fan_round() -> float:
            # Back to submitting without an event (a plain UPDATE), then the service
            # records it submitted: one published change per round.
            AnimationTask.objects.filter(pk=fan_task.pk).update(
                status=Status.SUBMITTING, lease_owner="bench"
            )
            submission._record_submitted(
                fan_task, "bench", f"bench-{uuid.uuid4().hex}", raw={}, key_id="b"
            )
            return time.time()

        async def fan_out() -> tuple[list[float], float]:
            clients, runners = await open_all([token(fan_user)] * args.streams)
            rss = rss_mb(server.pid)
            delays: list[float] = []
            for _ in range(args.rounds):
                for c in clients:
                    c.got.clear()
                at = await asyncio.to_thread(fan_round)
                await asyncio.wait_for(asyncio.gather(*(c.got.wait() for c in clients)), 120)
                delays += [c.arrivals[-1] - at for c in clients]
                rss = max(rss, rss_mb(server.pid))
            for c in clients:
                c.close()
            for r in runners:
                r.cancel()
            await asyncio.gather(*runners, return_exceptions=True)
            return delays, rss

        print(
            f"events process: uvicorn, 1 process, production settings; idle RSS {idle_rss:.0f} MB"
        )
        print(f"per user: {args.streams} users, one stream and one status change each")
        delays, rss, wrong = asyncio.run(per_user())
        ms = [d * 1000 for d in delays]
        print(
            f"  RSS {rss:.0f} MB; delay p50 {percentile(ms, 50):.1f} ms, "
            f"p99 {percentile(ms, 99):.1f} ms, max {max(ms):.1f} ms; "
            f"streams with a wrong or missing event: {wrong}"
        )
        print(f"fan-out: {args.streams} streams of one user, {args.rounds} changes")
        delays, rss = asyncio.run(fan_out())
        ms = [d * 1000 for d in delays]
        print(
            f"  RSS {rss:.0f} MB; delay p50 {percentile(ms, 50):.1f} ms, "
            f"p99 {percentile(ms, 99):.1f} ms, max {max(ms):.1f} ms "
            f"(mean {statistics.fmean(ms):.1f} ms, {len(ms)} deliveries)"
        )
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        connection.close()
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
