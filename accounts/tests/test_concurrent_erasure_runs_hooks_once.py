from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts import services
from accounts.models import User
from accounts.tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_erasures_run_the_hooks_once(hook_calls) -> None:
    user = UserFactory()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def erase() -> None:
        try:
            barrier.wait()
            services.erase_account(User.objects.get(pk=user.pk))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=erase) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert len(hook_calls["erasure"]) == 1
    erased = User.objects.get(pk=user.pk)
    assert erased.erased_at is not None
    assert erased.token_generation == 1
