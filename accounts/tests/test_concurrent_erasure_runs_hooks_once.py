from __future__ import annotations

import pytest

from accounts import services
from accounts.models import User
from accounts.tests.factories import UserFactory
from config.tests.concurrency import run_together


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_erasures_run_the_hooks_once(hook_calls) -> None:
    user = UserFactory()

    run_together(2, lambda _n: services.erase_account(User.objects.get(pk=user.pk)))

    assert len(hook_calls["erasure"]) == 1
    erased = User.objects.get(pk=user.pk)
    assert erased.erased_at is not None
    assert erased.token_generation == 1
