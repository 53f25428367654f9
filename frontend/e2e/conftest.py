"""The console's browser journeys run against the real platform, started the
way ``make run`` starts it (``scripts/run-embedded``: web server, Celery worker
and beat, the DashScope, Stripe and WeChat Pay simulators, embedded settings),
but on the test database, free ports and a temporary ``VAR_DIR``, with emails
written to files the journeys read their links from.

The platform is started once for these journeys (about 15 s) and stopped after
the last of them; the test database is emptied before and after (and given the
default packages a first migrate creates), so the rest of the suite never sees
their rows.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from config.tests.browser import save_screenshot

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = "console"  # var/screenshots/console-*.png, kept on purpose


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"mysql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _empty_database() -> None:
    from billing import services

    call_command("flush", interactive=False, verbosity=0)
    services.create_default_packages()


@dataclass
class Console:
    """The running platform, and the mailbox its emails land in."""

    url: str
    mail_dir: Path
    log: Path

    def messages_to(self, address: str) -> list[EmailMessage]:
        found = []
        for path in sorted(self.mail_dir.glob("*.log"), key=lambda p: p.stat().st_mtime):
            for raw in path.read_text(encoding="utf-8").split("-" * 79):
                if raw.strip() and f"To: {address}" in raw:
                    found.append(
                        email.message_from_string(raw.strip(), policy=email.policy.default)
                    )
        return found

    def link(self, address: str, path: str, *, after: int = 0, timeout: float = 15) -> str:
        """The first link to the console's ``path`` in an email to ``address`` (the
        ``after``-th email on), waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages_to(address)[after:]:
                body = message.get_content()
                match = re.search(rf"{re.escape(self.url)}{path}\?key=\S+", body)
                if match:
                    return match.group(0)
            assert time.monotonic() < deadline, f"no email to {address} with {path}"
            time.sleep(0.2)


# Per package, not per session: the platform's own worker and beat work on the
# test database, so they must be gone before any other test runs (pytest-django
# orders database tests, so these are not necessarily the last ones).
@pytest.fixture(scope="package")
def console(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Console]:
    home = tmp_path_factory.mktemp("console")
    mail_dir = home / "mail"
    mail_dir.mkdir()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "CI", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        DATABASE_URL=_database_url(),
        PORT=str(port),
        SITE_URL=url,
        DASHSCOPE_SIMULATOR_PORT=str(_free_port()),
        STRIPE_SIMULATOR_PORT=str(_free_port()),
        WECHATPAY_SIMULATOR_PORT=str(_free_port()),
        VAR_DIR=str(home / "var"),
        EMAIL_URL=f"filemail:///{mail_dir}",  # django-environ drops one slash
        LOG_LEVEL="WARNING",
    )
    with django_db_blocker.unblock():
        _empty_database()
    log = home / "platform.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(ROOT / "scripts" / "run-embedded")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240  # a first build of the console takes a while
        while not (_answers(f"{url}/healthz") and _answers(f"{url}/")):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the platform did not start:\n{log.read_text()[-4000:]}")
            time.sleep(0.5)
        yield Console(url=url, mail_dir=mail_dir, log=log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        with django_db_blocker.unblock():
            _empty_database()


JOURNEY_LIMIT = int(os.environ.get("JOURNEY_LIMIT_SECONDS", "300"))  # a journey takes about 1 min


@pytest.fixture(autouse=True)
def _journey_time_limit() -> Iterator[None]:
    """A journey that hangs (a browser call that never returns) fails after
    JOURNEY_LIMIT seconds, with its screenshot, instead of stalling the suite.
    Playwright's sync API hands an exception raised by a signal handler to the
    waiting test (playwright/sync_api/_context_manager.py)."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"the journey took more than {JOURNEY_LIMIT} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(JOURNEY_LIMIT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def shot(request: pytest.FixtureRequest):
    """``shot(page, "name")`` keeps a screenshot of this moment (var/screenshots/).
    With ``readme=True`` and ``UPDATE_README_SCREENSHOT=1`` in the environment,
    the visible part is also written to docs/console.png, the README's picture."""

    def take(page: object, name: str, *, readme: bool = False) -> Path:
        if readme and os.environ.get("UPDATE_README_SCREENSHOT"):
            page.screenshot(path=str(ROOT / "docs" / "console.png"))  # type: ignore[attr-defined]
        return save_screenshot(page, f"{SCREENSHOTS}-{name}")

    return take


@pytest.fixture
def phone_zh(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A 390 px wide page whose browser prefers Simplified Chinese; a screenshot is
    kept when the test fails, as with ``page``."""
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 390, "height": 844},
        locale="zh-CN",
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        save_screenshot(page, request.node.nodeid)
    context.close()
