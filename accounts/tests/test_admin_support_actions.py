from __future__ import annotations

import pytest
from allauth.socialaccount.models import SocialAccount
from django.test import Client

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tokens import issue_tokens
from config.tests.admin import run_action

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/user/"


@pytest.fixture
def staff_client() -> Client:
    admin = User.objects.create_superuser(email="support@example.com", password="x")
    client = Client()
    client.force_login(admin)
    return client


def test_support_finds_a_user_by_social_uid(staff_client) -> None:
    target = UserFactory(email="wx@example.com", display_name="微信")
    SocialAccount.objects.create(user=target, provider="weixin", uid="o-findme")
    UserFactory(email="someone@example.com")

    response = staff_client.get(CHANGELIST, {"q": "o-findme"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [target]


def test_provider_and_region_filters(staff_client) -> None:
    google_user = UserFactory(region="global")
    SocialAccount.objects.create(user=google_user, provider="google", uid="g-1")
    UserFactory(region="cn")

    by_provider = staff_client.get(CHANGELIST, {"provider": "google"})
    by_region = staff_client.get(CHANGELIST, {"region__exact": "cn"})

    assert list(by_provider.context["cl"].result_list) == [google_user]
    assert [u.region for u in by_region.context["cl"].result_list] == ["cn"]


def test_user_page_shows_social_accounts_and_email_addresses_inline(staff_client) -> None:
    user = UserFactory()
    SocialAccount.objects.create(user=user, provider="google", uid="g-inline")

    response = staff_client.get(f"{CHANGELIST}{user.pk}/change/")

    assert response.status_code == 200
    assert b"g-inline" in response.content
    assert b"Email addresses" in response.content


def test_deactivate_action_disables_and_revokes_tokens(staff_client, api_client) -> None:
    user = UserFactory()
    bystander = UserFactory()
    tokens = issue_tokens(user, method="password")

    response = run_action(staff_client, CHANGELIST, "deactivate", [user.pk], follow=True)

    assert response.status_code == 200
    assert "Deactivated: 1." in [str(m) for m in response.context["messages"]]
    user.refresh_from_db()
    bystander.refresh_from_db()
    assert user.is_active is False
    assert bystander.is_active is True
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api_client.get("/api/auth/me").status_code == 401


def test_sign_out_everywhere_action_revokes_tokens_but_keeps_the_account(
    staff_client, api_client
) -> None:
    user = UserFactory()
    tokens = issue_tokens(user, method="password")

    run_action(staff_client, CHANGELIST, "sign_out_everywhere", [user.pk])

    user.refresh_from_db()
    assert user.is_active is True
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api_client.get("/api/auth/me").status_code == 401
    assert api_client.post("/api/auth/refresh", {"refresh": tokens["refresh"]}).status_code == 401


def test_support_can_open_the_add_user_form_and_create_a_user(staff_client) -> None:
    assert staff_client.get(f"{CHANGELIST}add/").status_code == 200

    response = staff_client.post(
        f"{CHANGELIST}add/",
        {
            "email": "new@example.com",
            "password1": "plum-harbor-93-wind",
            "password2": "plum-harbor-93-wind",
        },
    )

    assert response.status_code == 302
    assert User.objects.get(email="new@example.com").check_password("plum-harbor-93-wind")


def _change_form(user: User, **changes: object) -> dict:
    data = {
        "email": user.email,
        "display_name": user.display_name,
        "avatar_url": user.avatar_url,
        "region": user.region,
        "locale": user.locale,
        "is_active": "on",
        "emailaddress_set-TOTAL_FORMS": "0",
        "emailaddress_set-INITIAL_FORMS": "0",
        "socialaccount_set-TOTAL_FORMS": "0",
        "socialaccount_set-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_unticking_active_in_the_form_revokes_tokens_for_good(staff_client, api_client) -> None:
    # Given a signed-in user whom support disables by unticking "active"
    user = UserFactory()
    tokens = issue_tokens(user, method="password")
    url = f"{CHANGELIST}{user.pk}/change/"
    disabled = staff_client.post(url, _change_form(user, is_active=None))
    assert disabled.status_code == 302, disabled.context["adminform"].form.errors
    # When support ticks it again
    assert staff_client.post(url, _change_form(user)).status_code == 302

    # Then the account works for new sign-ins, but the old tokens stay dead
    user.refresh_from_db()
    assert user.is_active is True
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api_client.get("/api/auth/me").status_code == 401
    api_client.credentials()
    assert api_client.post("/api/auth/refresh", {"refresh": tokens["refresh"]}).status_code == 401
    fresh = issue_tokens(user, method="password")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {fresh['access']}")
    assert api_client.get("/api/auth/me").status_code == 200


def test_editing_other_fields_keeps_the_users_tokens(staff_client, api_client) -> None:
    user = UserFactory()
    tokens = issue_tokens(user, method="password")

    response = staff_client.post(
        f"{CHANGELIST}{user.pk}/change/", _change_form(user, display_name="Renamed")
    )

    assert response.status_code == 302
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api_client.get("/api/auth/me").json()["display_name"] == "Renamed"
