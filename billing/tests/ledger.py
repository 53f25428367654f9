"""An autouse fixture for any app whose tests move credits: import it into the
app's ``conftest.py`` and every database test ends with ``check_ledger() == []``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from billing.services import check_ledger


@pytest.fixture(autouse=True)
def _ledger_stays_exact(request: pytest.FixtureRequest) -> Iterator[None]:
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        yield
        return
    # The database fixture first, so that its teardown comes after this check.
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    yield
    assert check_ledger() == []
