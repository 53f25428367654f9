from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from config.tests.concurrency import run_together


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_one_email_create_one_account(hook_calls) -> None:
    # Given several clients registering the same address at the same moment
    def register(n: int) -> tuple[int, str | None]:
        response = APIClient().post(
            "/api/auth/register",
            {"email": "race@example.com", "password": "tangerine-ladder-48-fog"},
            REMOTE_ADDR=f"8.8.8.{n}",
        )
        code = None if response.status_code == 201 else response.json()["errors"][0]["code"]
        return response.status_code, code

    results = run_together(4, register)

    # Then exactly one wins; the others get a clean 400, never a 500
    assert sorted(results) == [(201, None)] + [(400, "email_taken")] * 3
    assert User.objects.filter(email="race@example.com").count() == 1
    assert len(hook_calls["signup"]) == 1
