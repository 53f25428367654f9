"""Register must say email_taken (the contract signs a new user in at once), so
the oracle is bounded instead: throttled per target address (its mailbox) and
per client address, and a taken address costs what a free one does (the
password is validated and hashed, one email is sent). Login and password reset
say nothing about whether an account exists. bench/register_bench.py prints
the timings."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail

from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "cobalt-meadow-73-finches"


class CountingHasher(MD5PasswordHasher):
    """The test hasher, counting how many passwords it hashed."""

    encoded: ClassVar[int] = 0

    def encode(self, password: str, salt: str) -> str:
        type(self).encoded += 1
        return super().encode(password, salt)


@pytest.fixture
def hasher(settings) -> type[CountingHasher]:
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    CountingHasher.encoded = 0
    return CountingHasher


@pytest.fixture
def rates(settings) -> Callable[..., None]:
    def set_rates(**scopes: str) -> None:
        rest = {**settings.REST_FRAMEWORK}
        rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **scopes}
        settings.REST_FRAMEWORK = rest

    return set_rates


def _register(api_client, email: str, n: int = 0, password: str = PASSWORD):
    return api_client.post(
        "/api/auth/register", {"email": email, "password": password}, REMOTE_ADDR=f"8.8.5.{n}"
    )


def test_register_is_throttled_per_target_mailbox_across_client_addresses(
    api_client, rates
) -> None:
    # given a prober asking about one address from ever-changing client addresses
    rates(register_account="3/min", register_ip="100/min")
    UserFactory(email="target@example.com")

    codes = [
        _register(api_client, spelling, n).status_code
        for n, spelling in enumerate(
            [
                "target@example.com",
                "Target@Example.com",
                "target+x@example.com",
                "target@example.com",
            ]
        )
    ]

    # then spellings of one mailbox count together (a +tag is an address of its own,
    # but the same mailbox) and the fourth attempt is throttled
    assert codes == [400, 400, 201, 429]
    # and no more than three emails reached that mailbox
    assert len(mail.outbox) == 3
    # while another address is not held back
    assert _register(api_client, "other@example.com", 9).status_code == 201


def test_register_is_throttled_per_client_address(api_client, rates) -> None:
    rates(register_ip="2/min", register_account="100/min")

    codes = [_register(api_client, f"u{n}@example.com").status_code for n in range(3)]

    assert codes == [201, 201, 429]
    assert User.objects.count() == 2


def test_a_taken_address_costs_what_a_free_one_does(api_client, hasher) -> None:
    UserFactory(email="taken@example.com")
    hasher.encoded = 0
    mail.outbox.clear()

    free = _register(api_client, "free@example.com", 1)
    free_work = (hasher.encoded, len(mail.outbox))
    hasher.encoded = 0
    mail.outbox.clear()
    taken = _register(api_client, "taken@example.com", 2)
    taken_work = (hasher.encoded, len(mail.outbox))

    assert (free.status_code, taken.status_code) == (201, 400)
    assert taken.json()["errors"][0]["code"] == "email_taken"
    # one password hashed and one email sent, either way
    assert free_work == taken_work == (1, 1)
    assert mail.outbox[0].to == ["taken@example.com"]
    assert User.objects.filter(email="taken@example.com").count() == 1


def test_a_weak_password_is_refused_before_the_address_is_looked_at(api_client) -> None:
    UserFactory(email="taken@example.com")

    taken = _register(api_client, "taken@example.com", password="12345678")
    free = _register(api_client, "free@example.com", password="12345678")

    assert taken.json() == free.json()
    assert taken.json()["errors"][0]["code"] == "invalid_password"
    assert mail.outbox == []


def test_login_and_reset_answer_alike_for_unknown_and_known_addresses(api_client) -> None:
    UserFactory(email="known@example.com")

    known = api_client.post("/api/auth/login", {"email": "known@example.com", "password": "x"})
    unknown = api_client.post("/api/auth/login", {"email": "nobody@example.com", "password": "x"})
    reset_known = api_client.post("/api/auth/password/reset", {"email": "known@example.com"})
    reset_unknown = api_client.post("/api/auth/password/reset", {"email": "nobody@example.com"})

    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.json()["errors"][0]["code"] == "invalid_credentials"
    assert (reset_known.status_code, reset_known.json()) == (202, reset_unknown.json())
    assert reset_unknown.status_code == 202
