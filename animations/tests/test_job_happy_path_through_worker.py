"""Move and mix, std and pro: from the API through a real Celery worker and the HTTP
simulator to a playable stored result and exact credits."""

from __future__ import annotations

import httpx
import pytest

from animations import services
from animations.models import AnimationTask
from animations.tests.helpers import account, client_for, create, drive, final, funded_user, probe
from billing.services import check_ledger
from storage.models import File

RATES = {
    ("move", "wan-std"): 4,
    ("move", "wan-pro"): 6,
    ("mix", "wan-std"): 6,
    ("mix", "wan-pro"): 9,
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("kind", "mode"), list(RATES))
def test_job_reaches_succeeded_with_playable_result_and_exact_credits(
    provider, celery_worker, kind, mode
) -> None:
    # Given a user with 1000 credits and a 3 s reference video
    user = funded_user(1000)
    cost = 3 * RATES[(kind, mode)]
    # When they start a job
    response = create(user, kind=kind, mode=mode)
    # Then it is accepted with its credits reserved
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["type"] == kind
    assert body["model"] == f"wan2.2-animate-{kind}"
    assert body["status"] in {"queued", "submitted"}
    assert body["credits"] == {"reserved": cost, "charged": 0, "refunded": 0}
    assert body["result"] is None
    assert account(user) == (1000, cost)
    # When the beat drives the worker until the job is done
    drive(final(body["id"]), via_worker=True)
    # Then the task succeeded, charged exactly once for 3 s of output
    task = client_for(user).get(f"/api/tasks/{body['id']}").json()
    assert task["status"] == "succeeded", task
    assert task["credits"] == {"reserved": cost, "charged": cost, "refunded": 0}
    assert task["error"] is None
    assert task["attempts"] == 1
    assert task["started_at"] and task["finished_at"]
    assert task["result"]["duration"] == 3.0
    assert task["result"]["expires_at"]
    assert account(user) == (1000 - cost, 0)
    # And the stored copy is a real 720p H.264 MP4 at the mode's frame rate, silent
    # like its reference video
    stored = httpx.get(task["result"]["url"])
    assert stored.status_code == 200
    fps = 15 if mode == "wan-std" else 25
    assert probe(stored.content) == {
        "codec": "h264",
        "size": (960, 720),
        "fps": fps,
        "frames": 3 * fps,
        "audio_tracks": 0,
    }
    # And nothing ran twice: one provider job, one stored result, a clean ledger
    assert provider.call_count("submit", 200) == 1
    assert File.objects.filter(owner=user, kind="result").count() == 1
    assert AnimationTask.objects.get(pk=body["id"]).provider_request_ids
    assert check_ledger() == []
    # And the same task is visible under /api/videos/tasks
    assert client_for(user).get(f"/api/videos/tasks/{body['id']}").json()["status"] == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_each_region_uses_its_own_key(provider) -> None:
    cn_user = funded_user(1000, region="cn")
    global_user = funded_user(1000, region="global")
    ids = [create(cn_user).json()["id"], create(global_user).json()["id"]]
    drive(lambda: all(final(i)() for i in ids))
    rows = {r.region: r for r in AnimationTask.objects.all()}
    assert provider.tasks[rows["cn"].provider_task_id].api_key == "sk-test-cn"
    assert provider.tasks[rows["global"].provider_task_id].api_key == "sk-test-global"
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_regions_sharing_one_key_share_its_in_flight_limit(provider, settings) -> None:
    # Given both regions configured with the same key (as the embedded default is)
    settings.DASHSCOPE_API_KEYS = {"cn": "sk-one", "global": "sk-one"}
    settings.DASHSCOPE_MAX_IN_FLIGHT = 0
    cn_task = create(funded_user(1000, region="cn")).json()["id"]
    global_task = create(funded_user(1000, region="global")).json()["id"]
    settings.DASHSCOPE_MAX_IN_FLIGHT = 1
    # When the slots are filled
    services.fill_slots()
    # Then one task is at the provider and the other still waits for the key's one slot
    statuses = sorted(AnimationTask.objects.get(pk=i).status for i in (cn_task, global_task))
    assert statuses == ["queued", "submitted"]
    assert provider.call_count("submit") == 1


@pytest.mark.django_db(transaction=True)
def test_provider_failure_through_the_worker_releases_everything(provider, celery_worker) -> None:
    # Given the provider will fail the job
    provider.script({"outcome": "FAILED", "code": "InternalError.Algo"})
    user = funded_user(1000)
    task_id = create(user, kind="mix", mode="wan-pro").json()["id"]
    # When the beat drives the worker until it is done
    drive(final(task_id), via_worker=True)
    # Then it failed with the provider's error, charged nothing, and stored nothing
    task = client_for(user).get(f"/api/tasks/{task_id}").json()
    assert task["status"] == "failed"
    assert task["error"]["code"] == "InternalError.Algo"
    assert task["credits"] == {"reserved": 27, "charged": 0, "refunded": 27}
    assert account(user) == (1000, 0)
    assert not File.objects.filter(owner=user, kind="result").exists()
