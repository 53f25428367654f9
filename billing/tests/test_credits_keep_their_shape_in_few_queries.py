"""``GET /api/users/credits``: the body is exactly what DRF renders from
``CreditsSerializer``'s declared fields, in at most 2 queries (the user; the
account with its latest entries) however many entries there are."""

from __future__ import annotations

import pytest
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from accounts.tokens import issue_tokens
from billing import services
from billing.api.serializers import CreditsSerializer, LedgerEntrySerializer

pytestmark = pytest.mark.django_db


class ReferenceEntrySerializer(LedgerEntrySerializer):
    to_representation = serializers.ModelSerializer.to_representation


class ReferenceCreditsSerializer(CreditsSerializer):
    recent = ReferenceEntrySerializer(many=True)
    to_representation = serializers.Serializer.to_representation


def test_credits_body_is_the_declared_shape_in_two_queries(django_assert_max_num_queries) -> None:
    user = UserFactory()
    services.grant_bonus(user, 100, key="seed")
    for n in range(25):
        services.reserve(user, 1, ref=f"job:{n}", key=f"r{n}")
    services.release(user, ref="job:3", key="rel3")
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user, method='password')['access']}"
    )

    with django_assert_max_num_queries(2):
        body = client.get("/api/users/credits").json()

    account = services.account_for(user)
    reference = ReferenceCreditsSerializer(
        {
            "balance": account.balance,
            "reserved": account.reserved,
            "available": account.available,
            "recent": services.recent_entries(user),
        }
    ).data
    assert body == reference
    assert len(body["recent"]) == 20
    assert (body["balance"], body["reserved"], body["available"]) == (100, 24, 76)
