"""The admin's sign-in is allauth's: failed attempts lock per address and per
account, and with ADMIN_REQUIRE_MFA staff need an authenticator app (TOTP, with
recovery codes) set up and used before any admin page opens."""

from __future__ import annotations

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.conf import settings as django_settings
from django.test import Client

from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"
LOCKED = "Too many failed sign-in attempts"


def totp_code(secret: str, periods_ago: int = 0) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 - periods_ago))


def sign_in(client: Client, email: str, password: str = PASSWORD, **extra: str):
    return client.post(
        "/staff/login/", {"login": email, "password": password, "next": "/admin/"}, **extra
    )


def with_totp(user: User) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


@pytest.fixture
def staff() -> User:
    return UserFactory(email="agent@example.com", is_staff=True)


def test_the_admin_login_sends_everyone_to_the_staff_sign_in(client) -> None:
    index = client.get("/admin/")
    login = client.get("/admin/login/?next=/admin/")
    page = client.get("/staff/login/?next=/admin/")

    assert index.status_code == 302 and index["Location"].startswith("/admin/login/")
    assert login.status_code == 302
    assert login["Location"] == "/staff/login/?next=%2Fadmin%2F"
    assert page.status_code == 200
    assert b"Staff sign-in" in page.content and b'name="password"' in page.content
    assert b"sign up" not in page.content.lower()


def test_staff_signs_in_with_a_password_when_mfa_is_not_required(client, staff) -> None:
    assert django_settings.ADMIN_REQUIRE_MFA is False  # the embedded default

    response = sign_in(client, staff.email)

    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_customer_with_the_right_password_is_told_what_a_wrong_password_hears(client) -> None:
    customer = UserFactory(email="customer@example.com")

    right = sign_in(client, customer.email)
    wrong = sign_in(Client(), customer.email, "wrong-password")

    assert right.status_code == 200
    assert "_auth_user_id" not in client.session
    assert b"not correct" in right.content
    assert right.content.count(b"not correct") == wrong.content.count(b"not correct")


def test_failed_attempts_lock_the_account_from_any_address(client, staff) -> None:
    # Given five wrong passwords for one account, from five addresses
    for n in range(5):
        failed = sign_in(Client(), staff.email, "guess", REMOTE_ADDR=f"198.51.100.{n}")
        assert LOCKED.encode() not in failed.content
    # When the right password comes from yet another address
    response = sign_in(client, staff.email, REMOTE_ADDR="203.0.113.9")
    # Then the account is locked, with a message that says so, and nobody is signed in
    assert response.status_code == 200
    assert LOCKED.encode() in response.content
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302
    # And another staff member is not locked out by it
    other = UserFactory(email="other@example.com", is_staff=True)
    assert sign_in(Client(), other.email, REMOTE_ADDR="203.0.113.9").status_code == 302


def test_failed_attempts_from_one_address_lock_that_address(client, staff) -> None:
    # Given ten wrong passwords from one address, each for a different account
    for n in range(10):
        sign_in(Client(), f"nobody{n}@example.com", "guess", REMOTE_ADDR="198.51.100.7")
    # When a staff member signs in correctly from that address, and from another
    same_address = sign_in(client, staff.email, REMOTE_ADDR="198.51.100.7")
    elsewhere = sign_in(Client(), staff.email, REMOTE_ADDR="198.51.100.8")
    # Then only the other address gets in
    assert LOCKED.encode() in same_address.content
    assert "_auth_user_id" not in client.session
    assert elsewhere.status_code == 302


def test_with_mfa_required_staff_without_an_authenticator_set_one_up_first(
    client, staff, settings
) -> None:
    settings.ADMIN_REQUIRE_MFA = True
    sign_in(client, staff.email)
    # The admin sends them to set up an authenticator app, and opens no page before
    detour = client.get("/admin/billing/ledgerentry/")
    assert detour.status_code == 302
    assert detour["Location"].startswith("/staff/2fa/totp/activate/")
    # Setting it up asks for the password again (allauth's reauthentication)
    ask = client.get(detour["Location"])
    assert ask.status_code == 302 and ask["Location"].startswith("/staff/reauthenticate/")
    assert client.post(ask["Location"], {"password": PASSWORD}).status_code == 302
    setup = client.get(detour["Location"])
    assert setup.status_code == 200 and b"data:image/svg+xml;base64," in setup.content
    # A wrong code sets up nothing
    client.post("/staff/2fa/totp/activate/", {"code": "000000"})
    assert not Authenticator.objects.filter(user=staff).exists()
    # The code the app shows sets it up, with recovery codes to keep
    secret = client.session["mfa.totp.secret"]
    activated = client.post("/staff/2fa/totp/activate/", {"code": totp_code(secret)})
    assert activated.status_code == 302
    assert activated["Location"] == "/staff/2fa/recovery-codes/"
    codes = client.get("/staff/2fa/recovery-codes/")
    assert codes.status_code == 200 and b"Continue to the admin" in codes.content
    assert set(Authenticator.objects.filter(user=staff).values_list("type", flat=True)) == {
        "totp",
        "recovery_codes",
    }
    # And the admin opens in this session, which proved the code while setting it up
    assert client.get("/admin/").status_code == 200


def test_staff_with_an_authenticator_need_its_code_after_the_password(client, staff) -> None:
    secret = with_totp(staff)

    after_password = sign_in(client, staff.email)

    assert after_password["Location"] == "/staff/2fa/authenticate/"
    assert client.get("/admin/").status_code == 302  # not signed in yet
    wrong = client.post("/staff/2fa/authenticate/", {"code": "123456"})
    assert wrong.status_code == 200 and b"Incorrect code" in wrong.content
    right = client.post("/staff/2fa/authenticate/", {"code": totp_code(secret)})
    assert right.status_code == 302 and right["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_last_periods_code_is_accepted_once_and_an_older_one_never(staff) -> None:
    # Typed as its 30 s ended, or on a phone a little behind: one step of drift
    secret = with_totp(staff)
    stale, late, again = Client(), Client(), Client()

    sign_in(stale, staff.email)
    too_old = stale.post("/staff/2fa/authenticate/", {"code": totp_code(secret, periods_ago=2)})
    sign_in(late, staff.email)
    accepted = late.post("/staff/2fa/authenticate/", {"code": totp_code(secret, periods_ago=1)})
    sign_in(again, staff.email)
    replayed = again.post("/staff/2fa/authenticate/", {"code": totp_code(secret, periods_ago=1)})

    assert too_old.status_code == 200 and stale.get("/admin/").status_code == 302
    assert accepted.status_code == 302 and late.get("/admin/").status_code == 200
    assert replayed.status_code == 200 and again.get("/admin/").status_code == 302


def test_a_recovery_code_stands_in_for_the_phone_once(staff, settings) -> None:
    settings.ADMIN_REQUIRE_MFA = True
    with_totp(staff)
    code = RecoveryCodes.activate(staff).get_unused_codes()[0]

    first, second = Client(), Client()
    sign_in(first, staff.email)
    used = first.post("/staff/2fa/authenticate/", {"code": code})
    sign_in(second, staff.email)
    reused = second.post("/staff/2fa/authenticate/", {"code": code})

    assert used.status_code == 302 and first.get("/admin/").status_code == 200
    assert reused.status_code == 200 and second.get("/admin/").status_code == 302


def test_with_mfa_required_a_session_that_skipped_the_code_signs_in_again(
    client, staff, settings
) -> None:
    # A session from before the rule (here: signed in without allauth's MFA stage)
    settings.ADMIN_REQUIRE_MFA = True
    with_totp(staff)
    client.force_login(staff)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/?next=/admin/")
    assert "_auth_user_id" not in client.session


def test_with_mfa_off_a_force_logged_in_staff_member_reaches_the_admin(client, staff) -> None:
    with_totp(staff)
    client.force_login(staff)

    assert client.get("/admin/").status_code == 200
