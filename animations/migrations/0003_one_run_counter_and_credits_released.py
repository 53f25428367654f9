"""``run`` and ``attempts`` always held the same number: ``attempts`` stays (it is
the API's name) and now names each run's ledger ref. ``credits_refunded`` held
the released reservation, so it becomes ``credits_released``.

Safe on a populated table: the run number is copied into ``attempts`` before
``run`` goes (a row where they ever differed keeps the ref its ledger entries
carry), and the column rename is a metadata change. The check constraint that
names the column is dropped around the rename and added back unchanged."""

import django.db.models.expressions
from django.db import migrations, models
from django.db.models import F


def keep_run_number(apps, schema_editor):
    AnimationTask = apps.get_model("animations", "AnimationTask")
    AnimationTask.objects.exclude(attempts=F("run")).update(attempts=F("run"))


def restore_run_number(apps, schema_editor):
    AnimationTask = apps.get_model("animations", "AnimationTask")
    AnimationTask.objects.exclude(run=F("attempts")).update(run=F("attempts"))


class Migration(migrations.Migration):
    dependencies = [
        ("animations", "0002_task_retry"),
    ]

    operations = [
        migrations.RunPython(keep_run_number, restore_run_number, elidable=True),
        migrations.RemoveField(
            model_name="animationtask",
            name="run",
        ),
        migrations.RenameField(
            model_name="taskretry",
            old_name="run",
            new_name="attempt",
        ),
        migrations.AlterField(
            model_name="taskretry",
            name="attempt",
            field=models.PositiveIntegerField(
                help_text="The attempt (run number) this retry started."
            ),
        ),
        migrations.AlterField(
            model_name="animationtask",
            name="attempts",
            field=models.PositiveIntegerField(
                default=1, help_text="Runs started (1 + retries); the current run's number."
            ),
        ),
        migrations.RemoveConstraint(
            model_name="animationtask",
            name="animation_task_settled_within_reserved",
        ),
        migrations.RenameField(
            model_name="animationtask",
            old_name="credits_refunded",
            new_name="credits_released",
        ),
        migrations.AlterField(
            model_name="animationtask",
            name="credits_released",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Reserved credits given back unspent (the API's credits.refunded).",
            ),
        ),
        migrations.AddConstraint(
            model_name="animationtask",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "credits_reserved__gte",
                        django.db.models.expressions.CombinedExpression(
                            models.F("credits_charged"), "+", models.F("credits_released")
                        ),
                    )
                ),
                name="animation_task_settled_within_reserved",
            ),
        ),
    ]
