"""Fixtures shared by every app's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from config.tests.browser import browser, page  # noqa: F401  (headless Chromium)
from config.tests.faults import (  # noqa: F401  (servers of a test's own, to break)
    own_mariadb,
    own_redis,
    own_redis_cache,
    web_process,
)
from config.tests.loopback import _loopback_only  # noqa: F401  (autouse: no test leaves loopback)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item, so fixtures can see a failure (screenshots)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Throttle counters and cached verdicts must not leak between tests."""
    cache.clear()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()
