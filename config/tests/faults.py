"""Servers of a test's own, to break on purpose: the fault tests' harness.

``own_redis`` (a ``redis-server``) and ``own_mariadb`` (a ``mariadbd``, the way
``scripts/mariadb-replica`` starts one) listen on free loopback ports with
their data under the test's temporary folder. A test freezes one
(``frozen()``: SIGSTOP, then SIGCONT), kills it (``down()``: SIGKILL, then
the same server started again on the same port and data) or both, and the
context managers put it back however the test ends. The shared servers (3306,
6379) and other engineers' are never touched.

``web_process`` runs the platform as a deployment does (gunicorn with two
sync workers, production settings) against those servers, so a probe or an API
call is seen exactly as a client sees it, over HTTP.

Every process started here dies with the test run (``PR_SET_PDEATHSIG``), even
if pytest itself is killed.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from config.tests.worker_process import ROOT, free_port, stop_process

_PR_SET_PDEATHSIG = 1
# Looked up here, in the parent: the child runs only this call before exec (no
# import, no lock another thread could hold at fork time).
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def _die_with_parent() -> None:
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class OwnServer:
    """One server process of the test's own on ``127.0.0.1:port``."""

    name = "server"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / f"{self.name}.log"

    # -- to be given by each kind -------------------------------------------------
    def command(self) -> list[str]:
        raise NotImplementedError

    def answers(self) -> bool:
        raise NotImplementedError

    def prepare(self) -> None:
        """Once before the first start (data directory)."""

    def started(self) -> None:
        """After every start, once it answers."""

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prepare()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command(),
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + 60
        while not self.answers():
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} never answered:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.05)
        self.started()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def freeze(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Stopped by SIGSTOP: connections open and sockets accept, nothing answers."""
        self.freeze()
        try:
            yield
        finally:
            self.thaw()

    @contextmanager
    def down(self) -> Iterator[None]:
        """Killed by SIGKILL (connections refused), started again afterwards."""
        self.kill()
        try:
            yield
        finally:
            self.start()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.thaw()
        stop_process(self.process)


class RedisServer(OwnServer):
    name = "redis"

    def command(self) -> list[str]:
        return [
            shutil.which("redis-server") or "/usr/bin/redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
        ]

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


class MariaDBServer(OwnServer):
    name = "mariadb"

    @property
    def socket(self) -> Path:
        return self.directory / "mariadbd.sock"

    def prepare(self) -> None:
        data = self.directory / "data"
        if (data / "mysql").is_dir():
            return
        install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        if install is None:
            pytest.skip("mariadb-install-db is not installed (apt-get install mariadb-server)")
        subprocess.run(
            [
                install,
                "--no-defaults",
                f"--user={pwd.getpwuid(os.geteuid()).pw_name}",
                f"--datadir={data}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ],
            check=True,
            capture_output=True,
        )

    def command(self) -> list[str]:
        d = self.directory
        return [
            shutil.which("mariadbd") or "/usr/sbin/mariadbd",
            "--no-defaults",
            *(["--user=root"] if os.geteuid() == 0 else []),
            f"--datadir={d / 'data'}",
            f"--socket={self.socket}",
            f"--pid-file={d / 'mariadbd.pid'}",
            "--bind-address=127.0.0.1",
            f"--port={self.port}",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            "--innodb-buffer-pool-size=32M",
            "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=2",
            "--performance-schema=OFF",
        ]

    def answers(self) -> bool:
        return self.sql("SELECT 1", check=False).returncode == 0

    def started(self) -> None:
        self.sql(
            "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';"
            "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
        )

    def sql(self, statement: str, *, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        client = shutil.which("mariadb") or shutil.which("mysql") or "mariadb"
        return subprocess.run(
            [client, f"--socket={self.socket}", "-uroot", "--connect-timeout=2", "-e", statement],
            check=check,
            capture_output=True,
            timeout=30,
        )

    def url(self, name: str) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/{name}"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "own-redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_redis_cache(own_redis: RedisServer, settings, monkeypatch) -> Iterator[RedisServer]:
    """The cache of this process (throttles, allauth's rate limits, cached values,
    the router's pins) on the test's own Redis, with short socket timeouts and a
    short pause after a failure (``config.outage``), so the test can break it."""
    from config import outage

    settings.REDIS_URL = own_redis.url(0)
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": own_redis.url(0),
            "KEY_PREFIX": "animate",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
            },
        }
    }
    outage.redis_breaker.reset()
    monkeypatch.setattr(outage.redis_breaker, "retry_after_seconds", 0.5)
    try:
        yield own_redis
    finally:
        outage.redis_breaker.reset()


@pytest.fixture(scope="session")
def own_mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDBServer]:
    """One per test run (it takes a few seconds to start); tests that break it put
    it back with ``frozen()`` / ``down()``."""
    server = MariaDBServer(tmp_path_factory.mktemp("own-mariadb"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


class WebProcess:
    """gunicorn with production settings on a free port, its database and Redis
    the test's own. ``migrate()`` once, then ``start()``."""

    def __init__(self, *, database: str, redis_url: str, broker_url: str, tmp: Path) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.log = tmp / "web.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))},
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": "fault-tests-secret-key-0123456789abcdef",
            "JWT_SIGNING_KEY": "fault-tests-jwt-key-0123456789abcdefghij",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            # Nothing is delivered: mail to a closed loopback port fails and is logged.
            "EMAIL_URL": f"smtp://127.0.0.1:{free_port()}",
            "DATABASE_URL": database,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": broker_url,
            "VAR_DIR": str(tmp / "var"),
            "MEDIA_ROOT": str(tmp / "media"),
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=300,
        )

    def start(self, *, workers: int = 2, timeout: int = 30) -> None:
        command = [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
        command += ["--config=python:config.gunicorn", f"--bind=127.0.0.1:{self.port}"]
        command += [f"--workers={workers}", f"--timeout={timeout}"]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"gunicorn never answered:\n{self.log.read_text()[-3000:]}")

    def worker_pids(self) -> set[int]:
        """The pids of gunicorn's workers (the master's children)."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in children.read_text().split()}

    def log_lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def stop(self) -> None:
        stop_process(self.process)


@pytest.fixture(scope="module")
def web_process(
    own_mariadb: MariaDBServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[WebProcess, RedisServer, MariaDBServer]]:
    """The platform on gunicorn with a database and a Redis of its own (cache and
    broker); migrated once per module. Yields the web process and both servers."""
    tmp = tmp_path_factory.mktemp("web-process")
    redis_server = RedisServer(tmp / "redis")
    redis_server.start()
    name = f"faults_{os.getpid()}_{int(time.time())}"
    own_mariadb.sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    web = WebProcess(
        database=own_mariadb.url(name),
        redis_url=redis_server.url(0),
        broker_url=redis_server.url(1),
        tmp=tmp,
    )
    try:
        web.manage("migrate", "--noinput", "-v0")
        web.start()
        yield web, redis_server, own_mariadb
    finally:
        web.stop()
        redis_server.stop()
        own_mariadb.sql(f"DROP DATABASE IF EXISTS `{name}`", check=False)
