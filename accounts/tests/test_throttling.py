from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core import mail

from accounts.tests.conftest import bearer
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings) -> Callable[..., None]:
    def set_rates(**scopes: str) -> None:
        rest = {**settings.REST_FRAMEWORK}
        rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **scopes}
        settings.REST_FRAMEWORK = rest

    return set_rates


def test_login_is_throttled_per_account_across_addresses(api_client, rates) -> None:
    rates(auth_account="3/min", auth_ip="100/min")
    UserFactory(email="target@example.com")

    codes = [
        api_client.post(
            "/api/auth/login",
            {"email": "target@example.com", "password": f"guess-{n}"},
            REMOTE_ADDR=f"8.8.8.{n}",
        ).status_code
        for n in range(4)
    ]

    assert codes == [400, 400, 400, 429]
    # Another account from the same addresses is not affected.
    other = api_client.post(
        "/api/auth/login", {"email": "other@example.com", "password": "x"}, REMOTE_ADDR="8.8.8.1"
    )
    assert other.status_code == 400


def test_login_is_throttled_per_ip_with_retry_after(api_client, rates) -> None:
    rates(auth_account="100/min", auth_ip="2/min")

    responses = [
        api_client.post(
            "/api/auth/login",
            {"email": f"u{n}@example.com", "password": "x"},
            REMOTE_ADDR="8.8.4.4",
        )
        for n in range(3)
    ]

    assert [r.status_code for r in responses] == [400, 400, 429]
    throttled = responses[2]
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert throttled.json()["errors"][0]["code"] == "throttled"
    # A different client address still gets through.
    fresh = api_client.post(
        "/api/auth/login", {"email": "u9@example.com", "password": "x"}, REMOTE_ADDR="8.8.4.5"
    )
    assert fresh.status_code == 400


def test_register_is_throttled(api_client, rates) -> None:
    rates(register_ip="1/min")
    first = api_client.post(
        "/api/auth/register", {"email": "a@example.com", "password": "copper-kettle-55-rain"}
    )

    second = api_client.post(
        "/api/auth/register", {"email": "b@example.com", "password": "copper-kettle-55-rain"}
    )

    assert first.status_code == 201
    assert second.status_code == 429
    assert "Retry-After" in second


def test_password_reset_is_throttled_per_account_and_sends_no_more_mail(api_client, rates) -> None:
    rates(password_reset_account="2/hour", password_reset_ip="100/hour")
    UserFactory(email="target@example.com")

    codes = [
        api_client.post(
            "/api/auth/password/reset", {"email": "target@example.com"}, REMOTE_ADDR=f"8.8.8.{n}"
        ).status_code
        for n in range(3)
    ]

    assert codes == [202, 202, 429]
    assert len(mail.outbox) == 2


def test_social_login_is_throttled_per_ip(api_client, rates, wechat) -> None:
    rates(social_ip="1/min")
    api_client.post("/api/auth/wechat/login", {"code": "bad"}, REMOTE_ADDR="8.8.8.8")

    response = api_client.post("/api/auth/wechat/login", {"code": "bad"}, REMOTE_ADDR="8.8.8.8")

    assert response.status_code == 429
    assert len(wechat.requests_to("/sns/oauth2/access_token")) == 1


def test_social_linking_is_throttled_per_signed_in_user_across_addresses(
    api_client, rates, wechat
) -> None:
    # Given a signed-in user linking WeChat from ever-changing addresses
    rates(social_account="2/min", social_ip="100/min")
    user = UserFactory()
    bearer(api_client, user)
    codes = [
        api_client.post(
            "/api/auth/wechat/login", {"code": "bad"}, REMOTE_ADDR=f"8.8.8.{n}"
        ).status_code
        for n in range(3)
    ]

    # Then the third attempt is throttled, and WeChat never hears of it
    assert codes == [400, 400, 429]
    assert len(wechat.requests_to("/sns/oauth2/access_token")) == 2
    # And anonymous sign-ins from a fresh address are not held back by that user's count
    api_client.credentials()
    anonymous = api_client.post("/api/auth/wechat/login", {"code": "bad"}, REMOTE_ADDR="8.8.9.9")
    assert anonymous.status_code == 400


def test_password_reset_is_throttled_per_ip_with_retry_after(api_client, rates) -> None:
    rates(password_reset_ip="2/hour", password_reset_account="100/hour")

    responses = [
        api_client.post(
            "/api/auth/password/reset", {"email": f"u{n}@example.com"}, REMOTE_ADDR="8.8.4.4"
        )
        for n in range(3)
    ]

    assert [r.status_code for r in responses] == [202, 202, 429]
    assert 0 < int(responses[2]["Retry-After"]) <= 3600
    assert responses[2].json()["errors"][0]["code"] == "throttled"
    assert mail.outbox == []


def test_allauth_failed_login_limit_answers_429_with_its_window_as_retry_after(
    api_client, rates
) -> None:
    # Given our own throttles out of the way, and allauth's limit of failed logins per account
    rates(auth_account="100/min", auth_ip="100/min")
    UserFactory(email="target@example.com", password="the-right-one-42")
    codes = [
        api_client.post(
            "/api/auth/login",
            {"email": "target@example.com", "password": f"guess-{n}"},
            REMOTE_ADDR=f"8.8.7.{n}",
        ).status_code
        for n in range(5)
    ]

    # When the right password follows five wrong ones
    locked = api_client.post(
        "/api/auth/login",
        {"email": "target@example.com", "password": "the-right-one-42"},
        REMOTE_ADDR="8.8.7.9",
    )

    # Then it is refused until allauth's five-minute window has passed, and says so
    assert codes == [400] * 5
    assert locked.status_code == 429
    assert locked["Retry-After"] == "300"
    assert locked.json()["errors"][0]["code"] == "throttled"
    assert "access" not in locked.json()
