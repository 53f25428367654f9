"""Billing fixtures: every test that touches the database ends with an exact ledger."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from billing.services import check_ledger
from billing.tests.fakes.stripe_api import fake_stripe  # noqa: F401
from billing.tests.fakes.wechatpay import fake_wechatpay  # noqa: F401


@pytest.fixture(autouse=True)
def _ledger_stays_exact(request: pytest.FixtureRequest) -> Iterator[None]:
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        yield
        return
    # Set the database up first so this check runs before its teardown.
    request.getfixturevalue("_django_db_helper")
    yield
    assert check_ledger() == []
