"""``GET /api/auth/me``: the body built by ``user_json`` is exactly what DRF
renders from ``UserSerializer``'s declared fields (relations prefetched, as
before), in one query while every read goes to the primary (two with
replicas): the user with its token generation (from the primary), its verified
address and its providers read with it by authentication; the token checks
hold on that read too."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts import services
from accounts.api.serializers import UserSerializer
from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tokens import issue_tokens

pytestmark = pytest.mark.django_db


class ReferenceUserSerializer(UserSerializer):
    to_representation = serializers.ModelSerializer.to_representation


def _me(user: User) -> tuple[APIClient, dict]:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user, method='password')['access']}"
    )
    return client, client.get("/api/auth/me").json()


def _reference(user: User) -> dict:
    fresh = User.objects.prefetch_related("emailaddress_set", "socialaccount_set").get(pk=user.pk)
    return dict(ReferenceUserSerializer(fresh).data)


def test_me_of_a_verified_user_with_providers_is_the_declared_shape() -> None:
    user = UserFactory(email="Mixed.Case@example.com", avatar_url="https://example.com/a.png")
    EmailAddress.objects.create(user=user, email="mixed.case@example.com", verified=True)
    SocialAccount.objects.create(user=user, provider="google", uid="g-1", extra_data={})
    SocialAccount.objects.create(user=user, provider="weixin", uid="w-1", extra_data={})
    _client, body = _me(user)
    assert body == _reference(user)
    assert body["email_verified"] is True
    assert body["providers"] == ["google", "wechat"]


def test_me_of_an_unverified_user_without_providers_is_the_declared_shape() -> None:
    user = UserFactory(avatar_url="")
    EmailAddress.objects.create(user=user, email="other@example.com", verified=True)
    EmailAddress.objects.create(user=user, email=user.email, verified=False)
    _client, body = _me(user)
    assert body == _reference(user)
    assert (body["email_verified"], body["providers"], body["avatar_url"]) == (False, [], None)


def test_me_takes_one_query(django_assert_max_num_queries) -> None:
    user = UserFactory()
    EmailAddress.objects.create(user=user, email=user.email, verified=True)
    SocialAccount.objects.create(user=user, provider="google", uid="g-2", extra_data={})
    client, _body = _me(user)
    with django_assert_max_num_queries(1):
        response = client.get("/api/auth/me")
    assert response.status_code == 200
    assert (response.json()["email_verified"], response.json()["providers"]) == (True, ["google"])


def test_the_links_read_with_the_user_are_the_ones_read_on_their_own() -> None:
    user = UserFactory(email="Someone@Example.com")
    EmailAddress.objects.create(user=user, email="someone@example.com", verified=True)
    SocialAccount.objects.create(user=user, provider="weixin", uid="w-2", extra_data={})
    _client, body = _me(user)
    links = services.sign_in_links(User.objects.get(pk=user.pk))
    assert (body["email_verified"], body["providers"]) == (links.email_verified, ["wechat"])
    assert links.providers == ("weixin",)


def test_me_refuses_a_revoked_token_and_a_disabled_account() -> None:
    user = UserFactory()
    client, _body = _me(user)
    User.objects.filter(pk=user.pk).update(token_generation=user.token_generation + 1)
    response = client.get("/api/auth/me")
    assert (response.status_code, response.json()["errors"][0]["code"]) == (401, "token_revoked")
    other = UserFactory()
    client, _body = _me(other)
    User.objects.filter(pk=other.pk).update(is_active=False)
    response = client.get("/api/auth/me")
    assert response.status_code == 401


def test_with_replicas_the_links_are_read_on_their_own_as_before(
    django_assert_max_num_queries, settings
) -> None:
    user = UserFactory()
    EmailAddress.objects.create(user=user, email=user.email, verified=True)
    SocialAccount.objects.create(user=user, provider="weixin", uid="w-3", extra_data={})
    client, joined = _me(user)
    # A replica that never answers: the links' read falls back to the primary, on its own
    settings.DATABASE_REPLICAS = ["replica-unconfigured"]
    with django_assert_max_num_queries(2):
        response = client.get("/api/auth/me")
    assert response.json() == joined == _reference(user)
