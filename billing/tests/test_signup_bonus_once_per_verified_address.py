"""The contract's "Sign-up credits": SIGNUP_BONUS_CREDITS (may be 0) are granted
once the account's email is verified, or at a social sign-in with a verified
email, and never twice for one address (its mailbox), erased accounts included."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from django.core import mail
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.fakes.wechat import WeChatUser
from billing.models import CreditAccount, LedgerEntry, SignupBonusClaim
from config.tests.concurrency import run_together

PASSWORD = "juniper-valley-38-owls"


@pytest.fixture(autouse=True)
def _bonus(settings) -> None:
    settings.SIGNUP_BONUS_CREDITS = 100


def _register(client: APIClient, email: str) -> dict:
    response = client.post("/api/auth/register", {"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.json()
    return response.json()


def _verification_key(email: str) -> str:
    [message] = [m for m in mail.outbox if m.to == [email] and "verify-email?key=" in m.body]
    return unquote(re.search(r"verify-email\?key=(\S+)", message.body).group(1))


def _verify(client: APIClient, email: str) -> int:
    return client.post("/api/auth/email/verify", {"key": _verification_key(email)}).status_code


def _credits(client: APIClient, access: str) -> dict:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    try:
        return client.get("/api/users/credits").json()
    finally:
        client.credentials()


def _erase(client: APIClient, access: str) -> None:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert client.delete("/api/users/account", {"password": PASSWORD}).status_code == 204
    client.credentials()


@pytest.mark.django_db
def test_a_new_account_has_no_credits_until_its_email_is_verified(api_client) -> None:
    # given a new account, not verified
    body = _register(api_client, "new@example.com")
    before = _credits(api_client, body["access"])

    # when its address is verified (twice: the used link is refused, nothing more)
    first = _verify(api_client, "new@example.com")
    again = _verify(api_client, "new@example.com")

    # then the bonus arrives once, with the verification
    assert (before["balance"], before["available"], before["recent"]) == (0, 0, [])
    assert (first, again) == (204, 400)
    after = _credits(api_client, body["access"])
    assert (after["balance"], after["available"]) == (100, 100)
    assert [(e["kind"], e["amount"]) for e in after["recent"]] == [("signup_bonus", 100)]
    assert SignupBonusClaim.objects.count() == 1


@pytest.mark.django_db
def test_erasing_and_registering_the_address_again_gives_no_second_bonus(api_client) -> None:
    # given an account that had its bonus and was erased
    first = _register(api_client, "farm@example.com")
    _verify(api_client, "farm@example.com")
    _erase(api_client, first["access"])
    claim = SignupBonusClaim.objects.get()
    mail.outbox.clear()
    cache.clear()  # allauth sends one verification mail per address per 3 minutes

    # when the same address registers and verifies again
    second = _register(api_client, "farm@example.com")
    assert _verify(api_client, "farm@example.com") == 204

    # then the new account gets nothing; the erased one keeps its history anonymised
    credits = _credits(api_client, second["access"])
    assert (credits["balance"], credits["recent"]) == (0, [])
    assert list(SignupBonusClaim.objects.all()) == [claim]
    assert claim.account.user.email is None
    assert LedgerEntry.objects.filter(kind="signup_bonus").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first", "again"),
    [
        ("jane.doe@gmail.com", "JaneDoe+credits@googlemail.com"),
        ("sam@example.com", "Sam+2@Example.com"),
    ],
)
def test_another_spelling_of_one_mailbox_gives_no_second_bonus(api_client, first, again) -> None:
    _register(api_client, first)
    _verify(api_client, first)

    second = _register(api_client, again)
    assert _verify(api_client, again.lower()) == 204

    assert _credits(api_client, second["access"])["balance"] == 0
    assert LedgerEntry.objects.filter(kind="signup_bonus").count() == 1


@pytest.mark.django_db
def test_a_zero_bonus_grants_and_remembers_nothing(api_client, settings) -> None:
    settings.SIGNUP_BONUS_CREDITS = 0
    body = _register(api_client, "zero@example.com")

    assert _verify(api_client, "zero@example.com") == 204

    assert _credits(api_client, body["access"])["balance"] == 0
    assert not LedgerEntry.objects.exists()
    assert not SignupBonusClaim.objects.exists()


@pytest.mark.django_db
def test_a_google_sign_up_with_a_verified_email_gets_the_bonus_at_once(api_client, google) -> None:
    token = google.id_token(google.claims(sub="g-1", email="grace@example.com"))

    response = api_client.post("/api/auth/google/login", {"id_token": token})
    again = api_client.post(
        "/api/auth/google/login",
        {"id_token": google.id_token(google.claims(sub="g-1", email="grace@example.com"))},
    )

    assert response.status_code == 200
    assert response.json()["created"] is True
    assert again.status_code == 200
    credits = _credits(api_client, again.json()["access"])
    assert (credits["balance"], [e["kind"] for e in credits["recent"]]) == (100, ["signup_bonus"])


@pytest.mark.django_db
def test_an_unverified_google_email_or_a_wechat_sign_up_gets_no_bonus(
    api_client, google, wechat
) -> None:
    unverified = api_client.post(
        "/api/auth/google/login",
        {
            "id_token": google.id_token(
                google.claims(sub="g-2", email="u@example.com", verified=False)
            )
        },
    )
    weixin = api_client.post(
        "/api/auth/wechat/login",
        {"code": wechat.issue_code(WeChatUser(openid="o-1", nickname="wx"))},
    )

    assert unverified.status_code == 200 and unverified.json()["created"] is True
    assert weixin.status_code == 200 and weixin.json()["created"] is True
    assert not LedgerEntry.objects.exists()
    assert not SignupBonusClaim.objects.exists()


@pytest.mark.django_db
def test_google_vouching_for_a_registered_address_grants_its_bonus_once(api_client, google) -> None:
    # given an account registered with a password, never verified
    body = _register(api_client, "owner@example.com")
    token = google.id_token(google.claims(sub="g-3", email="owner@example.com"))

    # when its owner signs in with Google, which verified the address
    assert api_client.post("/api/auth/google/login", {"id_token": token}).status_code == 200
    # (and later follows the old verification link too)
    _verify(api_client, "owner@example.com")

    assert _credits(api_client, body["access"])["balance"] == 100
    assert LedgerEntry.objects.filter(kind="signup_bonus").count() == 1


@pytest.mark.django_db
def test_a_disabled_account_gets_no_bonus_on_verification(api_client) -> None:
    _register(api_client, "off@example.com")
    User.objects.filter(email="off@example.com").update(is_active=False)

    _verify(api_client, "off@example.com")

    assert not LedgerEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_accounts_of_one_mailbox_verifying_at_once_get_one_bonus() -> None:
    # given two accounts whose addresses reach the same mailbox
    addresses = ["twin+a@example.com", "twin+b@example.com"]
    keys = []
    for n, email in enumerate(addresses):
        APIClient().post(
            "/api/auth/register", {"email": email, "password": PASSWORD}, REMOTE_ADDR=f"8.8.8.{n}"
        )
        keys.append(_verification_key(email))

    # when both are verified at the same moment
    codes = run_together(
        2, lambda n: APIClient().post("/api/auth/email/verify", {"key": keys[n]}).status_code
    )

    # then both verifications succeed and exactly one bonus is granted
    assert codes == [204, 204]
    assert LedgerEntry.objects.filter(kind="signup_bonus").count() == 1
    assert SignupBonusClaim.objects.count() == 1
    assert sorted(CreditAccount.objects.values_list("balance", flat=True)) == [0, 100]


@pytest.mark.django_db
def test_accounts_that_had_the_bonus_at_registration_claim_their_address(api_client) -> None:
    # given an account that got the bonus under the old rule (at registration)
    import importlib

    from django.apps import apps

    from accounts.tests.factories import UserFactory
    from billing import services

    old = UserFactory(email="early@example.com")
    services.grant_bonus(old, 1, key="unrelated")
    account = CreditAccount.objects.get(user=old)
    LedgerEntry.objects.create(
        account=account,
        kind="signup_bonus",
        amount=0,
        balance_after=1,
        reserved_after=0,
        idempotency_key="signup-bonus",
    )
    migration = importlib.import_module("billing.migrations.0006_signup_bonus_claim")

    # when the migration's backfill runs (twice: it is safe to repeat)
    migration.claim_bonuses_already_given(apps, None)
    migration.claim_bonuses_already_given(apps, None)

    # then its address is claimed, so a later account of that address gets nothing
    assert list(SignupBonusClaim.objects.values_list("account_id", flat=True)) == [account.pk]
    old.email = "moved@example.com"
    old.save(update_fields=["email"])
    body = _register(api_client, "early@example.com")
    _verify(api_client, "early@example.com")
    assert _credits(api_client, body["access"])["balance"] == 0
