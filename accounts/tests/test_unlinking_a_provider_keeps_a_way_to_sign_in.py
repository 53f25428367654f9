"""DELETE /api/users/providers/{provider}: unlink Google or WeChat, never the last way in."""

from __future__ import annotations

import pytest
from allauth.socialaccount.models import SocialAccount
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.conftest import bearer
from accounts.tests.factories import UserFactory
from config.tests.concurrency import run_together


def _social_only(*providers: str, email: str | None = None) -> User:
    """A user who signed up with a provider: no usable password."""
    user = UserFactory(email=email)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    for n, provider in enumerate(providers):
        SocialAccount.objects.create(user=user, provider=provider, uid=f"{provider}-{user.pk}-{n}")
    return user


@pytest.mark.django_db
def test_unlinking_one_of_two_providers_leaves_the_other(api_client) -> None:
    user = _social_only("google", "weixin", email="g@example.com")
    bearer(api_client, user, method="google")

    response = api_client.delete("/api/users/providers/google")

    assert response.status_code == 204
    assert list(SocialAccount.objects.filter(user=user).values_list("provider", flat=True)) == [
        "weixin"
    ]
    assert api_client.get("/api/auth/me").json()["providers"] == ["wechat"]


@pytest.mark.django_db
def test_a_password_account_may_unlink_its_only_provider(api_client) -> None:
    user = UserFactory(email="p@example.com")
    SocialAccount.objects.create(user=user, provider="weixin", uid="o-1")
    bearer(api_client, user)

    response = api_client.delete("/api/users/providers/wechat")

    assert response.status_code == 204
    assert not SocialAccount.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_the_last_provider_of_an_account_without_password_is_409(api_client) -> None:
    user = _social_only("weixin")
    bearer(api_client, user, method="weixin")

    response = api_client.delete("/api/users/providers/wechat")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "last_sign_in_method"
    assert SocialAccount.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_a_password_without_an_email_is_no_way_in_so_the_last_provider_stays(api_client) -> None:
    user = UserFactory(email=None)  # a usable password, but nothing to sign in with it
    SocialAccount.objects.create(user=user, provider="weixin", uid="o-2")
    bearer(api_client, user, method="weixin")

    response = api_client.delete("/api/users/providers/wechat")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "last_sign_in_method"
    assert SocialAccount.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_a_provider_that_is_not_linked_is_404_and_unknown_providers_too(api_client) -> None:
    user = _social_only("google", email="g@example.com")
    bearer(api_client, user, method="google")

    not_linked = api_client.delete("/api/users/providers/wechat")
    unknown = api_client.delete("/api/users/providers/github")

    assert not_linked.status_code == 404
    assert not_linked.json()["errors"][0]["code"] == "provider_not_linked"
    assert unknown.status_code == 404
    assert SocialAccount.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_another_users_provider_is_never_touched(api_client) -> None:
    other = _social_only("google", "weixin", email="o@example.com")
    bearer(api_client, UserFactory(email="me@example.com"))

    response = api_client.delete("/api/users/providers/google")

    assert response.status_code == 404
    assert SocialAccount.objects.filter(user=other).count() == 2


@pytest.mark.django_db
def test_unlinking_needs_a_signed_in_user(api_client) -> None:
    assert api_client.delete("/api/users/providers/google").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_two_unlinks_at_once_cannot_remove_both_last_providers() -> None:
    # Given an account whose only ways in are Google and WeChat
    user = _social_only("google", "weixin", email="g@example.com")
    clients = [APIClient(), APIClient()]
    for client in clients:
        bearer(client, user, method="google")

    # When both are unlinked at the same moment
    statuses = run_together(
        2,
        lambda n: clients[n].delete(f"/api/users/providers/{('google', 'wechat')[n]}").status_code,
    )

    # Then one of them wins and the other is refused: one provider is left
    assert sorted(statuses) == [204, 409]
    assert SocialAccount.objects.filter(user=user).count() == 1
