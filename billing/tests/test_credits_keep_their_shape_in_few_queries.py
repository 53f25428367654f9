"""``GET /api/users/credits``: the body is exactly what DRF renders from
``CreditsSerializer``'s declared fields, however many entries there are, in one
query while every read goes to the primary (authentication reads the account
and its latest entries with the user) and two with replicas; an account with no
entries, or none at all, still answers."""

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


def _client(user: object) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user, method='password')['access']}"
    )
    return client


def _reference(user: object) -> dict:
    account = services.account_for(user)
    return ReferenceCreditsSerializer(
        {
            "balance": account.balance,
            "reserved": account.reserved,
            "available": account.available,
            "recent": services.recent_entries(user),
        }
    ).data


@pytest.mark.parametrize(("replicas", "queries"), [([], 1), (["replica-unconfigured"], 2)])
def test_credits_body_is_the_declared_shape_in_few_queries(
    django_assert_max_num_queries, settings, replicas, queries
) -> None:
    user = UserFactory()
    services.grant_bonus(user, 100, key="seed")
    for n in range(25):
        services.reserve(user, 1, ref=f"job:{n}", key=f"r{n}")
    services.release(user, ref="job:3", key="rel3")
    client = _client(user)
    settings.DATABASE_REPLICAS = replicas

    with django_assert_max_num_queries(queries):
        body = client.get("/api/users/credits").json()

    assert body == _reference(user)
    assert len(body["recent"]) == 20
    assert (body["balance"], body["reserved"], body["available"]) == (100, 24, 76)


def test_an_account_without_entries_or_without_an_account_answers_zero() -> None:
    from billing.models import CreditAccount

    empty = UserFactory()
    services.account_for(empty)
    missing = UserFactory()
    CreditAccount.objects.filter(user=missing).delete()
    for user in (empty, missing):
        body = _client(user).get("/api/users/credits").json()
        assert body == _reference(user)
        assert (body["balance"], body["available"], body["recent"]) == (0, 0, [])
    assert CreditAccount.objects.filter(user=missing).count() == 1
