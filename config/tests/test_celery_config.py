"""The Celery app: JSON only, long-work settings, and a beat schedule of real tasks."""

from __future__ import annotations

from config.celery import app


def test_tasks_are_json_acked_late_one_at_a_time_and_time_limited():
    conf = app.conf

    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_soft_time_limit == 600
    assert conf.task_time_limit == 900
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.result_backend == "cache+memory://"  # test settings; django-db elsewhere


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule

    assert schedule  # the apps' periodic work is there
    for name, entry in schedule.items():
        assert entry["task"] in app.tasks, name
        assert entry["schedule"]


def test_our_tasks_keep_their_names():
    # Queued messages and the beat schedule carry these names: each task declares
    # its own (``name=``), so moving or renaming a function cannot orphan them.
    app.loader.import_default_modules()
    ours = sorted(
        name
        for name in app.tasks
        if name.split(".")[0] in {"accounts", "animations", "billing", "storage"}
    )
    assert ours == [
        "accounts.flush_expired_tokens",
        "animations.tasks.cancel_at_provider",
        "animations.tasks.dispatch",
        "billing.tasks.expire_pending_orders",
        "billing.tasks.reconcile_pending_orders",
        "storage.purge_file_objects",
        "storage.retry_unpurged",
    ]
