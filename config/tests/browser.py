"""Headless Chromium for browser tests, driven by Playwright.

The browser is Debian's ``chromium`` (``/usr/bin/chromium``, installed by
``scripts/system-packages``); Playwright never downloads one. Chromium is a
process of its own, out of reach of the socket guard in ``loopback.py``, so it
is fenced in by its flags: every host name but loopback resolves to nothing,
and every request to a non-loopback address goes to a proxy that is not there.

A test asks for ``page``; when it fails, a full-page screenshot is saved under
``var/screenshots/`` (``BROWSER_SCREENSHOTS_DIR``) with the test's name, and CI
prints the folder. ``save_screenshot(page, name)`` keeps one on purpose.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(
    os.environ.get(
        "BROWSER_SCREENSHOTS_DIR",
        Path(__file__).resolve().parents[2] / "var" / "screenshots",
    )
)
LOOPBACK = "localhost;127.0.0.1;[::1]"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
    f"--proxy-bypass-list={LOOPBACK}",
]


def save_screenshot(page: object, name: str) -> Path:
    """Save a full-page screenshot as ``<name>.png`` and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    # Per module, not per session: while Playwright's sync API runs, its event
    # loop is the thread's running loop, and a later test's asyncio.run() fails.
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (scripts/system-packages installs chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls a
    # test makes around the browser are still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser context and page; a screenshot is kept when the test fails."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        save_screenshot(page, request.node.nodeid)
    context.close()
