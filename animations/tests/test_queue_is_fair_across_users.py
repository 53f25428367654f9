"""With one provider slot, a heavy user's backlog does not starve a light user."""

from __future__ import annotations

from itertools import pairwise

import pytest

from animations.models import AnimationTask
from animations.tests.helpers import create, drive, funded_user
from billing.services import check_ledger


@pytest.mark.django_db(transaction=True)
def test_light_user_is_served_before_a_heavy_users_backlog(provider, settings) -> None:
    # Given a heavy user queued three jobs before a light user queued one
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    heavy, light = funded_user(1000), funded_user(1000)
    for _ in range(3):
        create(heavy)
    create(light)
    # When one slot serves them all
    settings.DASHSCOPE_MAX_IN_FLIGHT = 1
    drive(lambda: not AnimationTask.objects.exclude(status="succeeded").exists())
    # Then the light user's job went second, not last
    order = list(AnimationTask.objects.order_by("submitted_at").values_list("user_id", flat=True))
    assert order == [heavy.pk, light.pk, heavy.pk, heavy.pk]
    # And the slot held one job at a time: each was sent after the previous finished
    rows = list(AnimationTask.objects.order_by("submitted_at"))
    assert all(a.finished_at <= b.submitted_at for a, b in pairwise(rows))
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_task_at_the_provider_shows_an_estimated_finish(provider) -> None:
    provider.configure(run_base={"wan-std": 1e9, "wan-pro": 1e9})
    from animations.tests.helpers import client_for

    user = funded_user(1000)
    body = create(user).json()
    task = client_for(user).get(f"/api/tasks/{body['id']}").json()
    # (A first poll may already have seen it RUNNING on a slow machine.)
    assert task["status"] in {"submitted", "running"}
    assert task["estimated_finish_at"] is not None
    assert task["estimated_finish_at"] > task["created_at"]
