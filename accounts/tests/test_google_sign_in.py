from __future__ import annotations

import time

import jwt
import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.sessions.models import Session

from accounts.models import User
from accounts.tests.conftest import GOOGLE_CLIENT_ID, bearer
from accounts.tests.factories import UserFactory
from accounts.tests.fakes.google import make_signing_key

pytestmark = pytest.mark.django_db

URL = "/api/auth/google/login"
CERTS = "/oauth2/v1/certs"


def test_new_google_user_signs_up_with_verified_email_and_profile(
    api_client, google, hook_calls
) -> None:
    token = google.id_token(google.claims(sub="g-100", email="Grace@Example.com"))

    response = api_client.post(URL, {"id_token": token}, REMOTE_ADDR="1.2.4.8")

    assert response.status_code == 200
    body = response.json()
    assert body["created"] is True
    user = User.objects.get()
    assert body["user"]["id"] == str(user.id)
    assert body["user"]["email"] == "grace@example.com"
    assert body["user"]["email_verified"] is True
    assert body["user"]["display_name"] == "Grace Hopper"
    assert body["user"]["avatar_url"] == "https://lh3.googleusercontent.com/a/grace"
    assert body["user"]["providers"] == ["google"]
    assert body["user"]["region"] == "cn"  # 1.2.4.8 is in China (embedded GeoIP)
    assert SocialAccount.objects.get(user=user).uid == "g-100"
    assert not user.has_usable_password()
    assert hook_calls["signup"] == [user]
    # The session allauth used for its flow is neither handed out nor kept.
    assert "sessionid" not in response.cookies
    assert not Session.objects.exists()


def test_returning_google_user_signs_in_without_creating_anything(
    api_client, google, hook_calls
) -> None:
    first = api_client.post(
        URL, {"id_token": google.id_token(google.claims(sub="g-1", email="a@example.com"))}
    )

    second = api_client.post(
        URL, {"id_token": google.id_token(google.claims(sub="g-1", email="a@example.com"))}
    )

    assert second.status_code == 200
    assert second.json()["created"] is False
    assert second.json()["user"]["id"] == first.json()["user"]["id"]
    assert User.objects.count() == 1
    assert len(hook_calls["signup"]) == 1


def test_google_certificates_are_fetched_once_and_cached(api_client, google) -> None:
    for sub in ("g-1", "g-2", "g-3"):
        token = google.id_token(google.claims(sub=sub, email=f"{sub}@example.com"))
        assert api_client.post(URL, {"id_token": token}).status_code == 200

    assert len(google.requests_to(CERTS)) == 1


@pytest.mark.parametrize(
    "case",
    [
        "forged_signature",
        "expired",
        "wrong_audience",
        "wrong_issuer",
        "alg_none",
        "alg_hs256",
        "garbage",
    ],
)
def test_bad_id_tokens_are_refused_and_create_nobody(api_client, google, case) -> None:
    claims = google.claims(sub="g-evil", email="victim@example.com")
    if case == "forged_signature":
        # Signed by a key we never published, claiming Google's key id.
        token = google.id_token(claims, key=make_signing_key(kid=google.key.kid))
    elif case == "expired":
        claims.update(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
        token = google.id_token(claims)
    elif case == "wrong_audience":
        claims.update(aud="someone-else.apps.googleusercontent.com")
        token = google.id_token(claims)
    elif case == "wrong_issuer":
        claims.update(iss="https://evil.example.com")
        token = google.id_token(claims)
    elif case == "alg_none":
        token = jwt.encode(claims, None, algorithm="none", headers={"kid": google.key.kid})
    elif case == "alg_hs256":
        # The classic confusion attack: HMAC keyed with the public certificate.
        token = jwt.encode(claims, "k" * 32, algorithm="HS256", headers={"kid": google.key.kid})
    else:
        token = "not.a.jwt"

    response = api_client.post(URL, {"id_token": token})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_token"
    assert not User.objects.exists()
    assert not SocialAccount.objects.exists()


def test_both_google_issuer_spellings_are_accepted(api_client, google) -> None:
    token = google.id_token(
        google.claims(sub="g-5", email="e@example.com", iss="accounts.google.com")
    )

    assert api_client.post(URL, {"id_token": token}).status_code == 200


def test_replayed_id_token_with_jti_is_refused(api_client, google) -> None:
    token = google.id_token(google.claims(sub="g-6", email="f@example.com", jti="once"))
    assert api_client.post(URL, {"id_token": token}).status_code == 200

    response = api_client.post(URL, {"id_token": token})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_token"


def test_authorization_code_is_exchanged_server_side(api_client, google) -> None:
    code = google.issue_code(
        google.claims(sub="g-7", email="code@example.com"), redirect_uri="postmessage"
    )

    response = api_client.post(URL, {"code": code, "redirect_uri": "postmessage"})

    assert response.status_code == 200
    assert response.json()["created"] is True
    assert response.json()["user"]["email"] == "code@example.com"
    exchange = google.requests_to("/token")
    assert len(exchange) == 1
    assert exchange[0].form["client_id"] == GOOGLE_CLIENT_ID
    assert exchange[0].form["client_secret"] == "google-test-secret"
    assert exchange[0].form["redirect_uri"] == "postmessage"


def test_code_with_mismatched_redirect_uri_is_refused(api_client, google) -> None:
    code = google.issue_code(
        google.claims(sub="g-8", email="x@example.com"), redirect_uri="https://app.example.com/cb"
    )

    response = api_client.post(URL, {"code": code, "redirect_uri": "https://evil.example.com/cb"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "social_login_failed"
    assert not User.objects.exists()


def test_google_body_needs_id_token_or_code_and_redirect_uri(api_client, google) -> None:
    response = api_client.post(URL, {"code": "abc"})

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"


def test_google_not_configured_is_503_not_500(api_client, db) -> None:
    # A 5xx is reported like an unhandled error; the test client would re-raise it.
    api_client.raise_request_exception = False

    response = api_client.post(URL, {"id_token": "x.y.z"})

    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "provider_not_configured"


def test_verified_google_email_joins_existing_account_and_locks_out_a_pre_registered_password(
    api_client, google
) -> None:
    # Given an attacker registered the victim's address (never verified) with their own password
    attacker_password = "attacker-knows-this-1"
    registered = api_client.post(
        "/api/auth/register", {"email": "victim@example.com", "password": attacker_password}
    )
    assert registered.status_code == 201
    user = User.objects.get()

    # When the real owner signs in with Google, which verified the address
    token = google.id_token(google.claims(sub="g-victim", email="victim@example.com"))
    response = api_client.post(URL, {"id_token": token})

    # Then Google joins that account (no second user) ...
    assert response.status_code == 200
    assert response.json()["created"] is False
    assert response.json()["user"]["id"] == str(user.id)
    assert User.objects.count() == 1
    assert SocialAccount.objects.get(provider="google").user_id == user.id
    # ... and the attacker's password no longer opens it.
    login = api_client.post(
        "/api/auth/login", {"email": "victim@example.com", "password": attacker_password}
    )
    assert login.status_code == 400
    assert login.json()["errors"][0]["code"] == "invalid_credentials"


def test_unverified_google_email_never_takes_over_an_existing_account(api_client, google) -> None:
    owner = UserFactory(email="owner@example.com", password="owner-password-77")
    EmailAddress.objects.create(user=owner, email="owner@example.com", verified=True, primary=True)
    token = google.id_token(google.claims(sub="g-x", email="owner@example.com", verified=False))

    response = api_client.post(URL, {"id_token": token})

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "signup_incomplete"
    assert "sessionid" not in response.cookies
    assert not Session.objects.exists()
    assert User.objects.count() == 1
    assert not SocialAccount.objects.exists()
    owner.refresh_from_db()
    assert owner.check_password("owner-password-77")


def test_signed_in_user_links_google_with_a_bearer_token(api_client, google) -> None:
    user = UserFactory(email="me@example.com")
    bearer(api_client, user)
    token = google.id_token(google.claims(sub="g-link", email="other-address@gmail.com"))

    response = api_client.post(URL, {"id_token": token})

    assert response.status_code == 200
    assert response.json()["created"] is False
    assert response.json()["user"]["id"] == str(user.id)
    assert response.json()["user"]["providers"] == ["google"]
    assert SocialAccount.objects.get(uid="g-link").user_id == user.id
    assert User.objects.count() == 1


def test_linking_a_google_account_owned_by_someone_else_is_409_and_moves_nothing(
    api_client, google
) -> None:
    token = google.id_token(google.claims(sub="g-owned", email="first@example.com"))
    owner_id = api_client.post(URL, {"id_token": token}).json()["user"]["id"]
    intruder = UserFactory(email="intruder@example.com")
    bearer(api_client, intruder)

    again = google.id_token(google.claims(sub="g-owned", email="first@example.com"))
    response = api_client.post(URL, {"id_token": again})

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "social_account_taken"
    assert str(SocialAccount.objects.get(uid="g-owned").user_id) == owner_id


def test_disabled_user_cannot_sign_in_with_google(api_client, google) -> None:
    token = google.id_token(google.claims(sub="g-off", email="off@example.com"))
    user_id = api_client.post(URL, {"id_token": token}).json()["user"]["id"]
    User.objects.filter(pk=user_id).update(is_active=False)

    again = google.id_token(google.claims(sub="g-off", email="off@example.com"))
    response = api_client.post(URL, {"id_token": again})

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "account_disabled"
    assert "access" not in response.json()


def test_linking_does_not_make_a_stolen_token_fresh_enough_to_erase(api_client, google) -> None:
    import time as _time

    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.tokens import issue_tokens

    # Given an access token from a password sign-in an hour ago (say, stolen)
    user = UserFactory(email="me@example.com")
    refresh = RefreshToken(issue_tokens(user, method="password")["refresh"])
    refresh["auth_time"] = int(_time.time()) - 3600
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {refresh.access_token}")

    # When its holder links their own Google account and uses the tokens it returns
    token = google.id_token(google.claims(sub="g-thief", email="thief@gmail.com"))
    linked = api_client.post(URL, {"id_token": token}).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {linked['access']}")
    response = api_client.delete("/api/users/account")

    # Then erasure still wants the password
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "reauthentication_required"
    user.refresh_from_db()
    assert user.erased_at is None


def test_rotated_google_key_is_fetched_once_then_unknown_kids_are_refused(
    api_client, google
) -> None:
    from accounts.tests.fakes.google import make_signing_key

    # Given our cache holds Google's current certificates
    first = google.id_token(google.claims(sub="g-r1", email="r1@example.com"))
    assert api_client.post(URL, {"id_token": first}).status_code == 200
    # When Google rotates to a new key
    old_key, google.key = google.key, make_signing_key()
    try:
        rotated = google.id_token(google.claims(sub="g-r2", email="r2@example.com"))
        response = api_client.post(URL, {"id_token": rotated})
    finally:
        google.key = old_key

    # Then the unknown kid triggers exactly one refetch and the token is accepted
    assert response.status_code == 200
    assert len(google.requests_to(CERTS)) == 2


def test_code_exchange_without_id_token_reads_the_userinfo_endpoint(api_client, google) -> None:
    google.include_id_token = False
    code = google.issue_code(
        google.claims(sub="g-ui", email="ui@example.com"), redirect_uri="postmessage"
    )

    response = api_client.post(URL, {"code": code, "redirect_uri": "postmessage"})

    assert response.status_code == 200
    assert response.json()["user"]["email"] == "ui@example.com"
    assert response.json()["user"]["email_verified"] is True
    userinfo = google.requests_to("/oauth2/v2/userinfo")
    assert len(userinfo) == 1
    assert userinfo[0].headers["authorization"].startswith("Bearer ya29.")
    assert SocialAccount.objects.get().uid == "g-ui"


def test_google_app_from_the_environment_works_without_an_admin_row(
    api_client, google, settings
) -> None:
    from allauth.socialaccount.models import SocialApp

    SocialApp.objects.all().delete()
    providers = {**settings.SOCIALACCOUNT_PROVIDERS}
    providers["google"] = {
        **providers["google"],
        "APPS": [{"client_id": GOOGLE_CLIENT_ID, "secret": "google-test-secret"}],
    }
    settings.SOCIALACCOUNT_PROVIDERS = providers
    token = google.id_token(google.claims(sub="g-env", email="env@example.com"))

    response = api_client.post(URL, {"id_token": token})

    assert response.status_code == 200
    assert response.json()["created"] is True
