"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from config.tests.loopback import _loopback_only  # noqa: F401  (autouse: no test leaves loopback)


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
