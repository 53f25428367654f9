"""Token checks read the user from the primary: a lagging replica cannot revive a
revoked token. Runs without a replica: the router's metric says where reads went."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from accounts import services
from accounts.tests.factories import UserFactory
from accounts.tokens import issue_tokens


def _forced_primary_reads() -> float:
    labels = {"target": "primary", "reason": "forced"}
    return REGISTRY.get_sample_value("animate_db_reads_total", labels) or 0.0


@pytest.fixture
def a_replica_configured(settings) -> None:
    # Reads may now go to a replica (this one is unreachable, so they fall back).
    settings.DATABASE_REPLICAS = ["replica1"]


@pytest.mark.django_db(transaction=True)
def test_access_and_refresh_checks_read_the_user_from_the_primary(
    api_client, a_replica_configured
) -> None:
    # Given a signed-in user, outside any transaction (where the primary is a given)
    user = UserFactory()
    tokens = issue_tokens(user, method="password")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    before = _forced_primary_reads()

    # When a token is checked on a request and on a refresh
    assert api_client.get("/api/auth/me").status_code == 200
    after_access = _forced_primary_reads()
    api_client.credentials()
    assert api_client.post("/api/auth/refresh", {"refresh": tokens["refresh"]}).status_code == 200

    # Then each check read the user from the primary, on purpose
    assert after_access - before == 1
    assert _forced_primary_reads() - after_access == 1


@pytest.mark.django_db(transaction=True)
def test_a_revoked_token_is_refused_on_the_next_request(api_client, a_replica_configured) -> None:
    user = UserFactory()
    tokens = issue_tokens(user, method="password")
    services.sign_out_everywhere(user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    assert api_client.get("/api/auth/me").status_code == 401
