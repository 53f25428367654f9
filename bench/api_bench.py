"""API benchmark: the hot reads and job creation, served as deployed, against a
bare-Django ceiling. Prints figures; it is not a test.

    bench/run api [-- --duration 10 --rounds 3 --connections 64 --keep-db]

What runs (all on loopback):
- MariaDB (``BENCH_DATABASE_URL``, default ``mysql://root@127.0.0.1:3306/animate_bench``):
  a database of its own, dropped and made again unless ``--keep-db`` finds it
  seeded; 1,000 users with 20 tasks each (20,000), an image and a video file
  per task, a result file per succeeded task, a credit account with 25 entries.
- Redis: a ``redis-server`` the bench starts on a free port (nothing shared).
- The project: ``gunicorn config.wsgi`` with ``config.settings.production``,
  ``--config=python:config.gunicorn``, 2 sync workers, as the Dockerfile runs it.
- The ceiling: the same gunicorn and settings with ``bench/api_ceiling.py``'s
  URLconf in front: plain Django views that verify the same JWT, check the
  user's generation and ownership, and read the same rows in one joined query.
- Load: wrk (Debian's ``wrk``; installed with apt-get when missing and root),
  ``--connections`` connections on 2 threads, each request a random user of the
  1,000 with its own token and one of its own tasks. Rounds alternate project
  and ceiling for every endpoint; the best round of each is reported.
- Queries per request: counted in this process through Django's test client
  with the same settings and database (a signed-in request as the load sends).
- Creates: 2 web workers, two Celery workers (``--concurrency 1`` each) and beat,
  the DashScope simulator (its clock slowed so it fetches nothing during the
  run); ``--create-users`` users, each granted credits for exactly
  ``--create-tasks`` jobs, POST ``/api/videos/animate-move`` with their own
  files until every one is refused (402). Reported: creates/s between the first
  and the last task, p50/p99 latency of all requests, whether every user has
  exactly balance / cost tasks, and ``billing.check_ledger()``.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/animate_bench")
USERS = 1000
TASKS_PER_USER = 20
ENTRIES_PER_USER = 25


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (http only)
                if response.status == 200:
                    return
        except Exception:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} never answered") from None
            time.sleep(0.2)


def server_env(redis_url: str, media: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """What production settings need, all pointing at loopback."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "CELERY_", "EMAIL_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_READ_DOT_ENV_FILE": "false",
            "DJANGO_SECRET_KEY": "bench-secret-key-" + "s" * 40,
            "JWT_SIGNING_KEY": "bench-jwt-signing-key-" + "j" * 40,
            "JWT_ACCESS_MINUTES": "600",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": redis_url,
            "EMAIL_URL": "smtp://127.0.0.1:1",  # never used: nothing here sends mail
            "SITE_URL": "http://127.0.0.1:1",
            "MEDIA_ROOT": media,
            "LOG_LEVEL": "WARNING",
            "DASHSCOPE_SIMULATOR_PORT": env.get("BENCH_SIMULATOR_PORT", "1"),
            "PROMETHEUS_MULTIPROC_DIR": os.path.join(media, "prometheus"),
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra or {})
    return env


# Database
# ------------------------------------------------------------------------------


def make_database(keep: bool) -> bool:
    """Create the bench database; True when an earlier seed was kept."""
    from urllib.parse import urlparse

    import MySQLdb

    url = urlparse(DATABASE_URL)
    name = url.path.lstrip("/")
    if name in ("animate", "animate_dev") or not name.startswith("animate_bench"):
        raise SystemExit(
            f"refusing to use {name!r}: the bench database's name starts animate_bench"
        )
    db = MySQLdb.connect(
        host=url.hostname or "127.0.0.1",
        port=url.port or 3306,
        user=url.username or "root",
        passwd=url.password or "",
    )
    cursor = db.cursor()
    if keep:
        cursor.execute("SHOW DATABASES LIKE %s", [name])
        if cursor.fetchone():
            cursor.execute(f"SELECT COUNT(*) FROM `{name}`.animations_animationtask")  # noqa: S608
            if cursor.fetchone()[0] >= USERS * TASKS_PER_USER:
                return True
    cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    db.close()
    return False


def seed() -> None:
    """1,000 users, 20 tasks each with their files, credit accounts with entries."""
    from datetime import timedelta

    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from accounts.models import User
    from animations.models import AnimationTask
    from billing.models import CreditAccount, LedgerEntry
    from storage.models import Backend, File

    rng = random.Random(14)
    password = make_password("bench-password")
    now = timezone.now()
    users = [
        User(
            email=f"bench{n}@example.com",
            display_name=f"Bench {n}",
            password=password,
            region="global" if n % 3 else "cn",
            locale="en" if n % 4 else "zh-hans",
            date_joined=now - timedelta(days=30),
        )
        for n in range(USERS)
    ]
    User.objects.bulk_create(users, batch_size=500)
    EmailAddress.objects.bulk_create(
        [
            EmailAddress(user=u, email=u.email, verified=n % 2 == 0, primary=True)
            for n, u in enumerate(users)
        ],
        batch_size=1000,
    )
    SocialAccount.objects.bulk_create(
        [
            SocialAccount(user=u, provider="google", uid=f"g{n}", extra_data={})
            for n, u in enumerate(users)
            if n % 5 == 0
        ],
        batch_size=1000,
    )
    accounts = [CreditAccount(user=u, balance=ENTRIES_PER_USER * 10) for u in users]
    CreditAccount.objects.bulk_create(accounts, batch_size=1000)
    entries = [
        LedgerEntry(
            account=a,
            kind="bonus",
            amount=10,
            balance_after=10 * (k + 1),
            reserved_after=0,
            reason="bench",
            idempotency_key=f"bench:{a.pk}:{k}",
        )
        for a in accounts
        for k in range(ENTRIES_PER_USER)
    ]
    LedgerEntry.objects.bulk_create(entries, batch_size=2000)

    statuses = ["succeeded"] * 10 + ["failed"] * 4 + ["canceled"] * 2 + ["queued", "running"] * 2
    files: list[File] = []
    tasks: list[AnimationTask] = []
    for user in users:
        for k in range(TASKS_PER_USER):
            created = now - timedelta(minutes=rng.randint(1, 40_000))

            def file(
                kind: str, ext: str, content_type: str, *, _user: User = user, _at: Any = created
            ) -> File:
                made = File(
                    owner=_user,
                    kind=kind,
                    backend=Backend.LOCAL,
                    key=f"bench/{_user.pk}/{len(files)}.{ext}",
                    content_type=content_type,
                    size=rng.randint(100_000, 9_000_000),
                    sha256="0" * 64,
                    width=720,
                    height=1280,
                    duration=5.0 if kind != "image" else None,
                    created_at=_at,
                )
                files.append(made)
                return made

            image = file("image", "png", "image/png")
            video = file("video", "mp4", "video/mp4")
            status = statuses[(k + rng.randint(0, 19)) % len(statuses)]
            result = file("result", "mp4", "video/mp4") if status == "succeeded" else None
            started = created + timedelta(seconds=20) if status != "queued" else None
            final = status in ("succeeded", "failed", "canceled")
            tasks.append(
                AnimationTask(
                    user=user,
                    type="move",
                    model="wan2.2-animate-move",
                    mode="wan-std",
                    region=user.region,
                    image=image,
                    video=video,
                    video_duration=5.0,
                    status=status,
                    queued_at=created,
                    submitted_at=created + timedelta(seconds=2) if started else None,
                    started_at=started,
                    provider_task_id=f"sim-{len(tasks)}" if started else None,
                    provider_responses=[{"output": {"task_status": "X"}}] * 3,
                    provider_end_time=started + timedelta(seconds=150)
                    if started and final
                    else None,
                    finished_at=created + timedelta(seconds=180) if final else None,
                    created_at=created,
                    credits_reserved=20,
                    credits_charged=20 if status == "succeeded" else 0,
                    credits_released=20 if status in ("failed", "canceled") else 0,
                    error_code="InvalidParameter" if status == "failed" else "",
                    error_message="The input image has no person." if status == "failed" else "",
                    result=result,
                )
            )
    # Spread creation times as a real history would: auto_now_add would stamp now.
    for model in (File, AnimationTask):
        model._meta.get_field("created_at").auto_now_add = False
    File.objects.bulk_create(files, batch_size=2000)
    AnimationTask.objects.bulk_create(tasks, batch_size=1000)
    for model in (File, AnimationTask):
        model._meta.get_field("created_at").auto_now_add = True


# Load
# ------------------------------------------------------------------------------

WRK_SCRIPT = """
local items = {%(items)s}
local n = #items
math.randomseed(%(seed)d)
local i = math.random(n)
request = function()
  local item
  if %(sequential)s then i = i %% n + 1; item = items[i] else item = items[math.random(n)] end
  return wrk.format(%(method)s, item[1], {["Authorization"] = "Bearer " .. item[2],
    ["Content-Type"] = "application/json"}, item[3])
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) codes = {} end
response = function(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end
done = function(summary, latency, requests)
  local all = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("codes")
    for status, count in pairs(c) do all[status] = (all[status] or 0) + count end
  end
  for status, count in pairs(all) do io.write(string.format("STATUS %%d %%d\\n", status, count)) end
end
"""


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_script(
    directory: str,
    name: str,
    items: list[tuple[str, str, str]],
    method: str,
    *,
    sequential: bool = False,
) -> str:
    body = ",\n".join("{" + ",".join(lua_string(part) for part in item) + "}" for item in items)
    path = os.path.join(directory, f"{name}.lua")
    Path(path).write_text(
        WRK_SCRIPT
        % {
            "items": body,
            "seed": 14,
            "method": lua_string(method),
            "sequential": "true" if sequential else "false",
        }
    )
    return path


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    codes: dict[int, int]


def _ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, script: str, *, duration: float, connections: int) -> Run:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            script,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    codes = {int(a): int(b) for a, b in re.findall(r"STATUS (\d+) (\d+)", out)}
    return Run(rps, p50, p99, codes)


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
    if not shutil.which("wrk"):
        raise SystemExit("bench/api_bench.py needs wrk: apt-get install -y wrk")


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def gunicorn(port: int, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "config.wsgi:application",
            "--config=python:config.gunicorn",
            f"--bind=127.0.0.1:{port}",
            "--workers=2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(env["BENCH_LOG"], "ab"),
    )


# Main
# ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--keep-db", action="store_true", help="reuse a seeded bench database")
    parser.add_argument("--only", nargs="*", default=None, help="detail list me credits create")
    parser.add_argument("--create-users", type=int, default=200)
    parser.add_argument("--create-tasks", type=int, default=20)
    args = parser.parse_args()
    ensure_wrk()

    work = tempfile.mkdtemp(prefix="api-bench-")
    media = os.path.join(work, "media")
    os.makedirs(os.path.join(media, "prometheus"))
    processes: list[subprocess.Popen] = []

    def stop_all() -> None:
        for proc in reversed(processes):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in processes:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()

    try:
        redis_port = free_port()
        processes.append(
            subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(redis_port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=subprocess.DEVNULL,
            )
        )
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        sim_port = free_port()
        os.environ["BENCH_SIMULATOR_PORT"] = str(sim_port)
        env = server_env(redis_url, media, {"BENCH_LOG": os.path.join(work, "servers.log")})
        os.environ.update(env)
        kept = make_database(args.keep_db)

        import django

        django.setup()
        import logging

        logging.disable(logging.WARNING)
        from django.core.management import call_command

        if not kept:
            started = time.monotonic()
            call_command("migrate", verbosity=0)
            seed()
            print(f"seeded in {time.monotonic() - started:.0f} s")
        run_bench(args, env, work, processes)
    finally:
        stop_all()
        shutil.rmtree(work, ignore_errors=True)


def run_bench(
    args: argparse.Namespace, env: dict[str, str], work: str, processes: list[subprocess.Popen]
) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from accounts.tokens import issue_tokens
    from animations.models import AnimationTask

    only = set(args.only or ["detail", "list", "me", "credits", "create"])
    users = list(User.objects.filter(email__startswith="bench").order_by("email")[:USERS])
    tokens = {u.pk: issue_tokens(u, method="password")["access"] for u in users}
    task_ids: dict[Any, list[str]] = {}
    for user_id, task_id in AnimationTask.objects.filter(user__in=users).values_list(
        "user_id", "id"
    ):
        task_ids.setdefault(user_id, []).append(str(task_id))

    endpoints: dict[str, tuple[str, str, list[tuple[str, str, str]]]] = {
        "detail": (
            "GET /api/tasks/{id}",
            "/ceiling/tasks/{id}",
            [(f"/api/tasks/{t}", tokens[u], "") for u, ts in task_ids.items() for t in ts[:5]],
        ),
        "list": (
            "GET /api/tasks/user/tasks?page_size=20",
            "/ceiling/tasks/user/tasks",
            [("/api/tasks/user/tasks?page_size=20", tokens[u.pk], "") for u in users],
        ),
        "me": (
            "GET /api/auth/me",
            "/ceiling/auth/me",
            [("/api/auth/me", tokens[u.pk], "") for u in users],
        ),
        "credits": (
            "GET /api/users/credits",
            "/ceiling/users/credits",
            [("/api/users/credits", tokens[u.pk], "") for u in users],
        ),
    }

    # Queries per request, through the whole stack in this process.
    client = Client()
    queries: dict[str, int] = {}
    for name, (_label, _ceiling, items) in endpoints.items():
        path, token, _ = items[0]
        client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")  # warm caches (history, ...)
        path, token, _ = items[len(items) // 2]
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
        queries[name] = len(captured)

    project_port, ceiling_port = free_port(), free_port()
    project = gunicorn(project_port, env)
    ceiling = gunicorn(
        ceiling_port, {**env, "DJANGO_SETTINGS_MODULE": "bench.api_ceiling_settings"}
    )
    processes.extend([project, ceiling])
    wait_http(f"http://127.0.0.1:{project_port}/healthz")
    wait_http(f"http://127.0.0.1:{ceiling_port}/healthz")

    best: dict[tuple[str, str], Run] = {}
    # Each round's project / ceiling: the two runs are adjacent in time, so they
    # saw the same machine (the best of each may come from different moments).
    paired: dict[str, list[float]] = {}
    reads = [name for name in endpoints if name in only]
    for name in reads:
        _label, _ceiling_path, items = endpoints[name]
        project_script = write_script(work, name, items, "GET")
        ceiling_items = [
            (path.replace("/api/", "/ceiling/", 1), token, body) for path, token, body in items
        ]
        ceiling_script = write_script(work, f"{name}-ceiling", ceiling_items, "GET")
        targets = {
            "project": (f"http://127.0.0.1:{project_port}", project_script),
            "ceiling": (f"http://127.0.0.1:{ceiling_port}", ceiling_script),
        }
        for base, script in targets.values():  # warm up every worker
            wrk(base, script, duration=2, connections=args.connections)
        for _round in range(args.rounds):
            rps = {}
            for which, (base, script) in targets.items():
                run = wrk(base, script, duration=args.duration, connections=args.connections)
                bad = {c: n for c, n in run.codes.items() if c != 200}
                if bad:
                    print(f"  {name} {which}: non-200 answers {bad}")
                key = (name, which)
                if key not in best or run.rps > best[key].rps:
                    best[key] = run
                print(f"  round {_round + 1} {name:8} {which:8} {run.rps:8.0f} req/s")
                rps[which] = run.rps
            paired.setdefault(name, []).append(rps["project"] / rps["ceiling"])

    rss = [rss_mb(pid) for pid in worker_pids(project.pid)]
    print()
    print(
        f"{os.cpu_count()} cores; wrk -t2 -c{args.connections}, {args.rounds} rounds of "
        f"{args.duration:.0f} s each, best round shown; ratio: best over best, "
        "and the median of each round's project / ceiling"
    )
    print(
        "| endpoint | project req/s | p50 ms | p99 ms | ceiling req/s | p50 ms | p99 ms "
        "| ratio | paired | queries |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in reads:
        p, c = best[(name, "project")], best[(name, "ceiling")]
        print(
            f"| `{endpoints[name][0]}` | {p.rps:.0f} | {p.p50_ms:.1f} | {p.p99_ms:.1f} "
            f"| {c.rps:.0f} | {c.p50_ms:.1f} | {c.p99_ms:.1f} | {p.rps / c.rps:.2f}x "
            f"| {statistics.median(paired[name]):.2f}x | {queries[name]} |"
        )
    print(f"web worker RSS after the reads: {', '.join(f'{mb:.0f} MB' for mb in rss)}")
    ceiling.terminate()
    ceiling.wait(timeout=15)

    if "create" in only:
        create_bench(args, env, work, processes, project_port, project)


def create_bench(
    args: argparse.Namespace,
    env: dict[str, str],
    work: str,
    processes: list[subprocess.Popen],
    port: int,
    project: subprocess.Popen,
) -> None:
    from django.contrib.auth.hashers import make_password
    from django.db.models import Count

    from accounts.models import User
    from accounts.tokens import issue_tokens
    from animations.models import AnimationTask
    from animations.services.common import price
    from billing import services as billing
    from billing.services import check_ledger
    from storage.models import Backend, File

    cost = price("wan2.2-animate-move", "wan-std", 5.0)
    stamp = int(time.time())
    password = make_password("bench-password")
    users = User.objects.bulk_create(
        [
            User(email=f"create{stamp}-{n}@example.com", password=password)
            for n in range(args.create_users)
        ]
    )
    items = []
    for user in users:
        billing.grant_bonus(user, cost * args.create_tasks, key=f"bench:{stamp}", reason="bench")
        image, video = File.objects.bulk_create(
            [
                File(
                    owner=user,
                    kind=kind,
                    backend=Backend.LOCAL,
                    key=f"create/{user.pk}/{kind}",
                    content_type=ct,
                    size=1000,
                    sha256="0" * 64,
                    width=720,
                    height=1280,
                    duration=duration,
                )
                for kind, ct, duration in (
                    ("image", "image/png", None),
                    ("video", "video/mp4", 5.0),
                )
            ]
        )
        token = issue_tokens(user, method="password")["access"]
        body = f'{{"image_id":"{image.pk}","video_id":"{video.pk}","mode":"wan-std"}}'
        items.append(("/api/videos/animate-move", token, body))
    script = write_script(work, "create", items, "POST", sequential=True)

    celery = str(VENV_BIN / "celery")
    log = open(env["BENCH_LOG"], "ab")  # noqa: SIM115 (the processes' stderr)
    sim = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "dashscope_simulator",
            "--port",
            env["DASHSCOPE_SIMULATOR_PORT"],
            "--time-scale",
            "0.01",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    workers = [
        subprocess.Popen(
            [
                celery,
                "-A",
                "config",
                "worker",
                "--concurrency=1",
                f"--hostname=bench{n}@%h",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        for n in range(2)
    ]
    beat = subprocess.Popen(
        [
            celery,
            "-A",
            "config",
            "beat",
            "--loglevel=WARNING",
            f"--schedule={os.path.join(work, 'beat-schedule')}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    processes.extend([sim, *workers, beat])
    time.sleep(5)  # the workers connect, beat sends its first dispatch

    # Rounds until every user is refused: each ends with exactly balance / cost tasks.
    answers: dict[int, int] = {}
    latencies: list[Run] = []
    while True:
        run = wrk(f"http://127.0.0.1:{port}", script, duration=20, connections=args.connections)
        latencies.append(run)
        for code, n in run.codes.items():
            answers[code] = answers.get(code, 0) + n
        if not run.codes.get(202):
            break
    run = latencies[0]
    time.sleep(2)
    created = sorted(
        AnimationTask.objects.filter(user__in=users).values_list("created_at", flat=True)
    )
    # The rate while there is work: from the first task to the 95th percentile one
    # (the last few users' final creates straggle among refusals).
    n95 = max(1, int(len(created) * 0.95))
    seconds = (created[n95 - 1] - created[0]).total_seconds() if len(created) > 1 else 0.0
    rate = (n95 - 1) / seconds if seconds else float("nan")
    counts = dict(
        AnimationTask.objects.filter(user__in=users)
        .values_list("user_id")
        .annotate(n=Count("id"))
        .values_list("user_id", "n")
    )
    wrong = [u.pk for u in users if counts.get(u.pk, 0) != args.create_tasks]
    problems = check_ledger()
    print()
    print(
        f"creates: {len(created)} tasks from {len(users)} users; {rate:.0f} creates/s "
        f"(first to 95th percentile task: {seconds:.1f} s; 2 web workers, 2 Celery workers "
        "+ beat); "
        f"requests p50 {run.p50_ms:.0f} ms / p99 {run.p99_ms:.0f} ms (first round); "
        f"answers {answers}"
    )
    print(
        f"users with exactly balance / cost = {args.create_tasks} tasks: "
        f"{len(users) - len(wrong)} of {len(users)}; ledger check: "
        + ("clean" if not problems else f"{len(problems)} problems, e.g. {problems[:3]}")
    )
    rss = [rss_mb(pid) for pid in worker_pids(project.pid)]
    print(f"web worker RSS after the creates: {', '.join(f'{mb:.0f} MB' for mb in rss)}")


if __name__ == "__main__":
    main()
