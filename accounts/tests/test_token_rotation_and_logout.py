from __future__ import annotations

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts import services
from accounts.tests.factories import UserFactory
from accounts.tokens import issue_tokens

pytestmark = pytest.mark.django_db


def _me(client, access: str) -> int:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    status = client.get("/api/auth/me").status_code
    client.credentials()
    return status


def test_refresh_rotates_and_the_rotated_token_cannot_be_reused(api_client) -> None:
    user = UserFactory()
    first = issue_tokens(user, method="password")

    response = api_client.post("/api/auth/refresh", {"refresh": first["refresh"]})

    assert response.status_code == 200
    second = response.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"]
    assert _me(api_client, second["access"]) == 200
    # The old refresh token is blacklisted: replaying it fails and mints nothing.
    replay = api_client.post("/api/auth/refresh", {"refresh": first["refresh"]})
    assert replay.status_code == 401
    assert "access" not in replay.json()
    # The rotated one still works once.
    assert api_client.post("/api/auth/refresh", {"refresh": second["refresh"]}).status_code == 200


def test_rotated_tokens_keep_region_and_sign_in_time(api_client) -> None:
    import jwt
    from django.conf import settings

    user = UserFactory(region="cn")
    first = issue_tokens(user, method="weixin")

    second = api_client.post("/api/auth/refresh", {"refresh": first["refresh"]}).json()

    key = settings.SIMPLE_JWT["SIGNING_KEY"]
    old = jwt.decode(first["refresh"], key, algorithms=["HS256"])
    new = jwt.decode(second["access"], key, algorithms=["HS256"])
    assert new["region"] == "cn"
    assert new["amr"] == "weixin"
    assert new["auth_time"] == old["auth_time"]


def test_logout_blacklists_the_refresh_token(api_client) -> None:
    user = UserFactory()
    tokens = issue_tokens(user, method="password")

    response = api_client.post("/api/auth/logout", {"refresh": tokens["refresh"]})

    assert response.status_code == 204
    assert BlacklistedToken.objects.filter(token__user=user).count() == 1
    assert api_client.post("/api/auth/refresh", {"refresh": tokens["refresh"]}).status_code == 401


def test_logout_with_a_garbage_token_is_400_not_500(api_client) -> None:
    response = api_client.post("/api/auth/logout", {"refresh": "not-a-jwt"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "refresh"


def test_refresh_with_garbage_is_401(api_client) -> None:
    assert api_client.post("/api/auth/refresh", {"refresh": "not-a-jwt"}).status_code == 401


def test_sign_out_everywhere_kills_access_and_refresh_tokens(api_client) -> None:
    user = UserFactory()
    phone = issue_tokens(user, method="password")
    laptop = issue_tokens(user, method="password")

    services.sign_out_everywhere(user)

    for tokens in (phone, laptop):
        assert _me(api_client, tokens["access"]) == 401
        assert (
            api_client.post("/api/auth/refresh", {"refresh": tokens["refresh"]}).status_code == 401
        )
    # A new sign-in works again.
    assert _me(api_client, issue_tokens(user, method="password")["access"]) == 200


def test_disabled_user_is_refused_even_with_an_unexpired_token(api_client) -> None:
    user = UserFactory()
    tokens = issue_tokens(user, method="password")

    services.deactivate(user)

    assert _me(api_client, tokens["access"]) == 401
    assert api_client.post("/api/auth/refresh", {"refresh": tokens["refresh"]}).status_code == 401
    user.refresh_from_db()
    assert user.is_active is False


def test_user_disabled_directly_in_the_database_is_refused(api_client) -> None:
    # Even without the service (e.g. an admin ticking "active" off), the flag decides.
    user = UserFactory()
    tokens = issue_tokens(user, method="password")
    type(user).objects.filter(pk=user.pk).update(is_active=False)

    assert _me(api_client, tokens["access"]) == 401
    assert api_client.post("/api/auth/refresh", {"refresh": tokens["refresh"]}).status_code == 401


def test_refused_tokens_answer_one_error_in_the_contract_shape(api_client) -> None:
    # Given a replayed refresh token, a garbage access token and a revoked one
    user = UserFactory()
    first = issue_tokens(user, method="password")
    assert api_client.post("/api/auth/refresh", {"refresh": first["refresh"]}).status_code == 200
    replay = api_client.post("/api/auth/refresh", {"refresh": first["refresh"]})
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    garbage = api_client.get("/api/auth/me")
    services.sign_out_everywhere(user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {first['access']}")
    revoked = api_client.get("/api/auth/me")

    # Then each is a 401 with exactly one error a client can switch on
    assert replay.status_code == garbage.status_code == revoked.status_code == 401
    assert replay.json() == {
        "type": "client_error",
        "errors": [{"code": "token_not_valid", "detail": "Token is blacklisted", "attr": None}],
    }
    assert garbage.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "token_not_valid",
                "detail": "Given token not valid for any token type",
                "attr": None,
            }
        ],
    }
    assert revoked.json()["errors"] == [
        {"code": "token_revoked", "detail": "This token has been revoked.", "attr": None}
    ]
    assert garbage["WWW-Authenticate"].startswith("Bearer")
