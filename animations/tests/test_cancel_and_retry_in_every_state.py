"""Cancel and retry exactly as the contract says, in every state, with credits released
and reserved again; another user's task is a 404; no credits, no task."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.hooks import run_erasure_hooks
from animations import services
from animations.models import AnimationTask
from animations.tests.helpers import (
    account,
    client_for,
    create,
    drive,
    final,
    funded_user,
    provider_finished,
)
from billing.models import LedgerEntry
from billing.services import check_ledger


def _queued(settings, user):
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    body = create(user).json()
    assert body["status"] == "queued"
    return body["id"]


@pytest.mark.django_db(transaction=True)
def test_cancel_queued_releases_credits_and_retry_reserves_again(provider, settings) -> None:
    user = funded_user(1000)
    task_id = _queued(settings, user)
    api = client_for(user)
    # When the queued task is canceled
    canceled = api.delete(f"/api/tasks/{task_id}")
    # Then it is canceled, released, and the provider never heard of it
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert canceled.json()["credits"] == {"reserved": 12, "charged": 0, "refunded": 12}
    assert account(user) == (1000, 0)
    assert provider.call_count("submit") == 0
    # When it is retried
    retried = api.post(f"/api/tasks/{task_id}/retry")
    # Then it is queued again with credits reserved again, and then runs to success
    assert retried.status_code == 202
    assert retried.json()["status"] == "queued"
    assert retried.json()["attempts"] == 2
    assert retried.json()["credits"] == {"reserved": 24, "charged": 0, "refunded": 12}
    assert account(user) == (1000, 12)
    settings.DASHSCOPE_MAX_IN_FLIGHT = 1
    drive(final(task_id))
    done = api.get(f"/api/tasks/{task_id}").json()
    assert done["status"] == "succeeded"
    assert done["credits"] == {"reserved": 24, "charged": 12, "refunded": 12}
    assert account(user) == (988, 0)
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_cancel_while_pending_at_provider_cancels_it_there(provider) -> None:
    # Given the provider holds the task PENDING (it schedules nothing for a long time)
    provider.configure(schedule_delay=1e9)
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    assert AnimationTask.objects.get(pk=task_id).status == "submitted"
    # When the user cancels
    response = client_for(user).delete(f"/api/tasks/{task_id}")
    # Then the provider canceled it and the credits are back
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    provider_id = AnimationTask.objects.get(pk=task_id).provider_task_id
    assert provider.tasks[provider_id].status == "CANCELED"
    assert account(user) == (1000, 0)
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_crash_after_the_provider_cancel_is_settled_by_the_next_poll(provider) -> None:
    # Given a PENDING task whose cancel reached the provider, and the worker died
    # before recording it
    provider.configure(schedule_delay=1e9)
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    row = AnimationTask.objects.get(pk=task_id)
    services.client_for(row.region).cancel(str(row.provider_task_id))
    AnimationTask.objects.filter(pk=task_id).update(next_poll_at=timezone.now())
    # When the dispatcher next polls it
    drive(final(task_id))
    # Then it is canceled with its credits released, and nothing was charged
    task = client_for(user).get(f"/api/tasks/{task_id}").json()
    assert task["status"] == "canceled"
    assert task["credits"] == {"reserved": 12, "charged": 0, "refunded": 12}
    assert account(user) == (1000, 0)


@pytest.mark.django_db(transaction=True)
def test_cancel_once_running_is_409_and_changes_nothing(provider) -> None:
    provider.configure(run_base={"wan-std": 1e9, "wan-pro": 1e9})
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    AnimationTask.objects.filter(pk=task_id).update(next_poll_at=timezone.now())
    drive(lambda: AnimationTask.objects.get(pk=task_id).status == "running")
    response = client_for(user).delete(f"/api/tasks/{task_id}")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "task_not_cancelable"
    assert AnimationTask.objects.get(pk=task_id).status == "running"
    assert account(user) == (1000, 12)
    # And a running task cannot be retried either
    assert client_for(user).post(f"/api/tasks/{task_id}/retry").status_code == 409
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_finished_tasks_cancel_409_and_only_failed_or_canceled_retry(provider) -> None:
    user = funded_user(1000)
    ok = create(user).json()["id"]
    provider.script({"outcome": "FAILED", "code": "InternalError.Algo"})
    bad = create(user).json()["id"]
    drive(lambda: final(ok)() and final(bad)())
    api = client_for(user)
    assert api.delete(f"/api/tasks/{ok}").status_code == 409
    assert api.delete(f"/api/tasks/{bad}").status_code == 409
    retry_ok = api.post(f"/api/tasks/{ok}/retry")
    assert retry_ok.status_code == 409
    assert retry_ok.json()["errors"][0]["code"] == "task_not_retryable"
    # When the failed one is retried, it runs again and succeeds
    assert api.post(f"/api/tasks/{bad}/retry").status_code == 202
    drive(final(bad))
    assert api.get(f"/api/tasks/{bad}").json()["status"] == "succeeded"
    assert api.get(f"/api/tasks/{bad}").json()["error"] is None
    assert account(user) == (1000 - 24, 0)
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_another_users_task_is_404_everywhere(provider, settings) -> None:
    owner = funded_user(1000)
    task_id = _queued(settings, owner)
    stranger = client_for(funded_user(1000))
    for response in (
        stranger.get(f"/api/tasks/{task_id}"),
        stranger.get(f"/api/videos/tasks/{task_id}"),
        stranger.delete(f"/api/tasks/{task_id}"),
        stranger.post(f"/api/tasks/{task_id}/retry"),
    ):
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "not_found"
    assert stranger.get("/api/tasks/user/tasks").json()["count"] == 0
    assert AnimationTask.objects.get(pk=task_id).status == "queued"
    listing = client_for(owner).get("/api/tasks/user/tasks?status=queued&type=move").json()
    assert [t["id"] for t in listing["results"]] == [task_id]


@pytest.mark.django_db(transaction=True)
def test_using_another_users_upload_is_404_and_reserves_nothing(provider) -> None:
    from animations.tests.helpers import upload_inputs

    owner, thief = funded_user(1000), funded_user(1000)
    image, video = upload_inputs(owner)
    response = client_for(thief).post(
        "/api/videos/animate-move",
        {"image_id": str(image.id), "video_id": str(video.id), "mode": "wan-std"},
        format="json",
    )
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "file_not_found"
    assert not AnimationTask.objects.exists()
    assert account(thief) == (1000, 0)


@pytest.mark.django_db(transaction=True)
def test_insufficient_credits_is_402_and_creates_nothing(provider) -> None:
    user = funded_user(5)
    entries = LedgerEntry.objects.count()
    response = create(user, kind="mix", mode="wan-pro")
    assert response.status_code == 402
    error = response.json()["errors"][0]
    assert (error["code"], error["needed"], error["available"]) == ("insufficient_credits", 27, 5)
    assert not AnimationTask.objects.exists()
    assert LedgerEntry.objects.count() == entries
    assert provider.call_count("submit") == 0


@pytest.mark.django_db(transaction=True)
def test_same_idempotency_key_returns_the_same_task_and_charges_once(provider, settings) -> None:
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    user = funded_user(1000)
    first = create(user, key="k-1")
    second = create(user, key="k-1")
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["id"] == second.json()["id"]
    assert AnimationTask.objects.count() == 1
    assert account(user) == (1000, 12)
    other = create(funded_user(1000), key="k-1")
    assert other.json()["id"] != first.json()["id"]


@pytest.mark.django_db(transaction=True)
def test_an_over_long_idempotency_key_is_400_and_reserves_nothing(provider, settings) -> None:
    from config.idempotency import MAX_LENGTH

    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    user = funded_user(1000)
    refused = create(user, key="k" * (MAX_LENGTH + 1))
    assert refused.status_code == 400
    [error] = refused.json()["errors"]
    assert (error["code"], error["attr"]) == ("max_length", "Idempotency-Key")
    assert not AnimationTask.objects.exists()
    assert account(user) == (1000, 0)
    # the longest allowed is stored whole, so its repeat finds the task
    first = create(user, key="k" * MAX_LENGTH)
    again = create(user, key="k" * MAX_LENGTH)
    assert first.json()["id"] == again.json()["id"]
    assert AnimationTask.objects.get().idempotency_key == "k" * MAX_LENGTH


@pytest.mark.django_db(transaction=True)
def test_erasure_cancels_unfinished_tasks_and_releases_credits(provider, settings) -> None:
    provider.configure(schedule_delay=1e9)
    user = funded_user(1000)
    at_provider = create(user).json()["id"]
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    queued = create(user).json()["id"]
    assert account(user) == (1000, 24)
    # When the account is erased
    with transaction.atomic():
        run_erasure_hooks(user)
    # Then both tasks are canceled, the credits released, the provider told
    assert {t.status for t in AnimationTask.objects.filter(pk__in=[at_provider, queued])} == {
        "canceled"
    }
    assert AnimationTask.objects.get(pk=queued).error_code == "account_erased"
    assert account(user) == (1000, 0)
    provider_id = AnimationTask.objects.get(pk=at_provider).provider_task_id
    assert provider.tasks[provider_id].status == "CANCELED"
    # And erasing again changes nothing
    with transaction.atomic():
        assert services.cancel_for_erasure(user) == []
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_task_past_three_hours_fails_and_releases(provider) -> None:
    provider.configure(run_base={"wan-std": 1e9, "wan-pro": 1e9})
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    AnimationTask.objects.filter(pk=task_id).update(
        submitted_at=timezone.now() - timedelta(hours=4), next_poll_at=timezone.now()
    )
    drive(final(task_id))
    task = client_for(user).get(f"/api/tasks/{task_id}").json()
    assert task["status"] == "failed"
    assert task["error"]["code"] == "InternalError.Timeout"
    assert account(user) == (1000, 0)
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_task_the_provider_finished_before_three_hours_succeeds_even_if_seen_after(
    provider,
) -> None:
    # Given the provider finished the job, but we look only after the 3-hour mark
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    provider_finished(provider, task_id)
    AnimationTask.objects.filter(pk=task_id).update(
        submitted_at=timezone.now() - timedelta(hours=4), next_poll_at=timezone.now()
    )
    # When the dispatcher polls it
    drive(final(task_id))
    # Then the provider's answer wins: succeeded and charged, not timed out
    task = client_for(user).get(f"/api/tasks/{task_id}").json()
    assert (task["status"], task["error"]) == ("succeeded", None)
    assert account(user) == (988, 0)


@pytest.mark.django_db(transaction=True)
def test_retry_while_queued_and_cancel_twice_are_409(provider, settings) -> None:
    user = funded_user(1000)
    task_id = _queued(settings, user)
    api = client_for(user)
    assert api.post(f"/api/tasks/{task_id}/retry").status_code == 409
    assert api.delete(f"/api/tasks/{task_id}").status_code == 200
    again = api.delete(f"/api/tasks/{task_id}")
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "task_not_cancelable"
    assert account(user) == (1000, 0)
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_cancel_while_the_create_call_is_unsettled_is_409(provider, settings) -> None:
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    user = funded_user(1000)
    task_id = create(user).json()["id"]
    settings.DASHSCOPE_MAX_IN_FLIGHT = 1
    assert services.claim_next_queued("global") is not None
    response = client_for(user).delete(f"/api/tasks/{task_id}")
    assert response.status_code == 409
    assert client_for(user).get(f"/api/tasks/{task_id}").json()["status"] == "queued"
    assert account(user) == (1000, 12)


@pytest.mark.django_db(transaction=True)
def test_retry_without_credits_is_402_and_leaves_the_task_failed(provider) -> None:
    from billing import services as billing

    user = funded_user(12)
    provider.script({"outcome": "FAILED", "code": "InternalError.Algo"})
    task_id = create(user).json()["id"]
    drive(final(task_id))
    billing.reserve(user, 5, ref="elsewhere", key="elsewhere:reserve")
    response = client_for(user).post(f"/api/tasks/{task_id}/retry")
    assert response.status_code == 402
    error = response.json()["errors"][0]
    assert (error["code"], error["needed"], error["available"]) == ("insufficient_credits", 12, 7)
    row = AnimationTask.objects.get(pk=task_id)
    assert (row.status, row.attempts, row.credits_reserved) == ("failed", 1, 12)


@pytest.mark.django_db(transaction=True)
def test_retry_of_a_task_failed_at_the_provider_starts_a_clean_run(provider, settings) -> None:
    from animations.models import RUN_FIELDS

    # Given a task the provider ran and failed
    user = funded_user(1000)
    provider.script({"outcome": "FAILED", "code": "InternalError.Algo"})
    task_id = create(user).json()["id"]
    drive(final(task_id))
    failed = AnimationTask.objects.get(pk=task_id)
    assert (failed.status, failed.error_code, failed.polls > 0) == (
        "failed",
        "InternalError.Algo",
        True,
    )
    answers = list(failed.provider_responses)
    # When it is retried while no slot is free
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    assert client_for(user).post(f"/api/tasks/{task_id}/retry").status_code == 202
    # Then every field of the last run is back at its default, the run number and
    # its ledger ref moved on, and what the runs share is kept
    row = AnimationTask.objects.get(pk=task_id)
    blank = AnimationTask()
    assert {name: getattr(row, name) for name in RUN_FIELDS} == {
        name: getattr(blank, name) for name in RUN_FIELDS
    }
    assert (row.status, row.attempts, row.ref) == ("queued", 2, f"animation_task:{task_id}:2")
    assert (row.credits_reserved, row.credits_charged, row.credits_released) == (24, 0, 12)
    assert (row.image_id, row.video_id) == (failed.image_id, failed.video_id)
    assert row.provider_responses == answers
    assert row.queued_at > failed.queued_at
    assert LedgerEntry.objects.filter(ref=row.ref, kind="reserve").count() == 1
