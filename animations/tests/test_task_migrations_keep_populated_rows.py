"""The task table's migrations run on a populated table without losing a run's
number (its ledger ref) or a settled credit."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.tests.factories import UserFactory

BEFORE = [("animations", "0002_task_retry")]
AFTER = [("animations", "0003_one_run_counter_and_credits_released")]


def _migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_run_number_and_released_credits_survive_the_migration() -> None:
    # given tasks written before the migration, one retried twice
    user = UserFactory()
    try:
        old = _migrate(BEFORE).get_model("animations", "AnimationTask")

        def task(**fields: object) -> int:
            return old.objects.create(
                user_id=user.pk,
                type="move",
                model="m",
                mode="wan-std",
                region="cn",
                video_duration=4.0,
                **fields,
            ).pk

        retried_pk = task(
            status="failed", run=3, attempts=3, credits_reserved=36, credits_refunded=36
        )
        canceled_pk = task(status="canceled", credits_reserved=12, credits_refunded=12)
        # a row whose counters drifted apart: its ledger entries carry the run's ref
        drifted_pk = task(status="failed", run=2, attempts=1)

        # when the migration runs
        new = _migrate(AFTER).get_model("animations", "AnimationTask")
    finally:
        _migrate(_latest())

    # then the run number and the released credits are where the new names say
    row = new.objects.get(pk=retried_pk)
    assert (row.attempts, row.credits_reserved, row.credits_released) == (3, 36, 36)
    assert not hasattr(row, "run") and not hasattr(row, "credits_refunded")
    other = new.objects.get(pk=canceled_pk)
    assert (other.attempts, other.credits_released) == (1, 12)
    drifted = new.objects.get(pk=drifted_pk)
    assert drifted.attempts == 2
    assert f"animation_task:{drifted.pk}:2" == _ref(drifted)


def _ref(row) -> str:
    # the model's ``ref`` as the current code names it (historical models have no properties)
    from animations.models import AnimationTask

    return AnimationTask(id=row.pk, attempts=row.attempts).ref


def _latest() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes("animations")
