"""Storage's orphan purge asks animations which files are in use."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from animations.models import AnimationTask
from animations.tests.helpers import create, funded_user, upload_inputs
from storage.models import File


@pytest.mark.django_db(transaction=True)
def test_old_inputs_of_a_task_are_kept_and_unused_old_uploads_are_purged(provider) -> None:
    # given a task's inputs and an upload no task uses, all created 40 days ago
    user = funded_user(1000)
    task = AnimationTask.objects.get(pk=create(user).json()["id"])
    unused_image, unused_video = upload_inputs(user)
    File.objects.update(created_at=timezone.now() - timedelta(days=40))

    # when the purge runs for real
    call_command("purge_files", "--older-than", "30", "--execute", stdout=io.StringIO())

    # then only the unused upload is gone; the task's inputs stay live
    live = set(File.objects.filter(deleted_at__isnull=True).values_list("pk", flat=True))
    assert {task.image_id, task.video_id} <= live
    assert unused_image.pk not in live
    assert unused_video.pk not in live
