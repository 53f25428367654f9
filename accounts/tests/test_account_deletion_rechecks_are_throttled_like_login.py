"""DELETE /api/users/account re-checks the password: per account, as login does.
Wrong passwords count towards allauth's failed-login limit of the account, and
every attempt towards the per-account throttle; nothing is erased meanwhile."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts.models import User
from accounts.tests.conftest import bearer
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-one-42"


@pytest.fixture
def rates(settings) -> Callable[..., None]:
    def set_rates(**scopes: str) -> None:
        rest = {**settings.REST_FRAMEWORK}
        rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **scopes}
        settings.REST_FRAMEWORK = rest

    return set_rates


def _delete(api_client, password: str, n: int = 0):
    return api_client.delete("/api/users/account", {"password": password}, REMOTE_ADDR=f"8.8.6.{n}")


def _untouched(user: User) -> bool:
    user.refresh_from_db()
    return user.erased_at is None and user.is_active and user.email is not None


def test_five_wrong_passwords_lock_deletion_even_with_the_right_one(api_client, rates) -> None:
    # given our own throttles out of the way, a signed-in user, and a token thief guessing
    rates(auth_account="100/min", auth_ip="100/min")
    user = UserFactory(email="target@example.com", password=PASSWORD)
    bearer(api_client, user)
    wrong = [_delete(api_client, f"guess-{n}", n) for n in range(5)]

    # when the right password follows
    locked = _delete(api_client, PASSWORD, 9)

    # then it is refused for allauth's window, like a locked login, and nothing is erased
    assert [r.status_code for r in wrong] == [400] * 5
    assert {r.json()["errors"][0]["code"] for r in wrong} == {"invalid_credentials"}
    assert locked.status_code == 429
    assert locked["Retry-After"] == "300"
    assert locked.json()["errors"][0]["code"] == "throttled"
    assert _untouched(user)


def test_wrong_deletion_passwords_and_wrong_logins_share_one_limit(api_client, rates) -> None:
    rates(auth_account="100/min", auth_ip="100/min")
    user = UserFactory(email="target@example.com", password=PASSWORD)
    bearer(api_client, user)
    for n in range(3):
        _delete(api_client, f"guess-{n}", n)
    api_client.credentials()
    for n in range(2):
        api_client.post("/api/auth/login", {"email": "target@example.com", "password": f"g{n}"})

    login = api_client.post(
        "/api/auth/login", {"email": "target@example.com", "password": PASSWORD}
    )

    assert login.status_code == 429
    assert "access" not in login.json()


def test_deletion_attempts_are_throttled_per_account_across_addresses(api_client, rates) -> None:
    rates(auth_account="3/min")
    user = UserFactory(email="target@example.com", password=PASSWORD)
    bearer(api_client, user)

    codes = [_delete(api_client, f"guess-{n}", n).status_code for n in range(3)]
    fourth = _delete(api_client, PASSWORD, 7)

    assert codes == [400, 400, 400]
    assert fourth.status_code == 429
    assert 0 < int(fourth["Retry-After"]) <= 60
    assert _untouched(user)
    # another account is not held back by it
    bearer(api_client, UserFactory(password=PASSWORD))
    assert _delete(api_client, PASSWORD).status_code == 204


def test_the_right_password_still_erases_after_a_typo(api_client) -> None:
    user = UserFactory(email="target@example.com", password=PASSWORD)
    bearer(api_client, user)

    typo = _delete(api_client, "the-right-one-24")
    right = _delete(api_client, PASSWORD)

    assert (typo.status_code, right.status_code) == (400, 204)
    user.refresh_from_db()
    assert user.erased_at is not None
