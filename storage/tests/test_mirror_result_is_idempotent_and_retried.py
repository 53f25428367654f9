"""mirror_result: a provider's result copied once per key, one download per call
(a transient error is the caller's to retry later), checksummed and probed; a bad
result is not kept."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from accounts.tests.factories import UserFactory
from config.tests.concurrency import run_together
from storage import services
from storage.errors import (
    CorruptMedia,
    DownloadFailed,
    TransientDownloadError,
    UnsafeUrl,
    UnsupportedMedia,
)
from storage.models import File
from storage.tests.fakes.web import Answer
from storage.tests.media import make_image, make_video

RESULT = make_video(3, 320, 240, 5, audio=True)


def _local_objects() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.django_db
def test_result_is_copied_once_per_key(fake_web, allow_loopback_imports) -> None:
    # Given a result video at the provider
    url = fake_web.file("/result.mp4?Expires=1", RESULT, "video/mp4")
    user = UserFactory()
    # When it is mirrored twice with the same key
    first = services.mirror_result(user, url, key="animation_task:1")
    second = services.mirror_result(user, url, key="animation_task:1")
    # Then one file exists, downloaded once, measured and checksummed
    assert second.pk == first.pk
    assert File.objects.count() == 1
    assert fake_web.hits == ["/result.mp4?Expires=1"]
    assert (first.kind, first.source_key, first.content_type) == (
        "result",
        "animation_task:1",
        "video/mp4",
    )
    assert first.sha256 == hashlib.sha256(RESULT).hexdigest()
    assert first.has_audio is True
    assert first.duration == pytest.approx(3.0, abs=0.25)
    assert first.key == f"result/{user.id}/{first.id}.mp4"
    assert len(_local_objects()) == 1


@pytest.mark.django_db
def test_result_goes_to_the_owners_region_backend(
    fake_web, allow_loopback_imports, oss_storage, settings
) -> None:
    settings.STORAGE_BACKEND_GLOBAL = "local"
    url = fake_web.file("/r.mp4", RESULT, "video/mp4")
    file = services.mirror_result(UserFactory(region="cn"), url, key="k")
    assert file.backend == "oss"
    assert oss_storage.objects[("animate-test-cn", file.key)].body == RESULT


@pytest.mark.django_db
def test_a_transient_error_raises_at_once_and_the_callers_retry_copies_it(
    fake_web, allow_loopback_imports
) -> None:
    # Given a result host that answers 503 once, then the video
    url = fake_web.serve(
        "/r.mp4",
        Answer(503, b"busy"),
        Answer(200, RESULT, {"Content-Type": "video/mp4"}),
    )
    user = UserFactory()
    # When the copy is tried, it fails after one download, storing nothing
    with pytest.raises(TransientDownloadError):
        services.mirror_result(user, url, key="k")
    assert fake_web.hits == ["/r.mp4"]
    assert File.objects.count() == 0
    assert _local_objects() == []
    # Then the caller's later try (the dispatcher's next poll) copies it
    file = services.mirror_result(user, url, key="k")
    assert file.size == len(RESULT)
    assert fake_web.hits == ["/r.mp4"] * 2


@pytest.mark.django_db
def test_not_found_is_not_retried(fake_web, allow_loopback_imports) -> None:
    with pytest.raises(DownloadFailed) as failed:
        services.mirror_result(UserFactory(), fake_web.url("/gone.mp4"), key="k")
    assert not isinstance(failed.value, TransientDownloadError)
    assert fake_web.hits == ["/gone.mp4"]
    assert File.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "error"),
    [(make_image(), UnsupportedMedia), (RESULT[: len(RESULT) // 3], CorruptMedia)],
)
def test_a_result_that_is_not_a_playable_video_is_not_kept(
    fake_web, allow_loopback_imports, body, error
) -> None:
    url = fake_web.file("/r.mp4", body, "video/mp4")
    with pytest.raises(error):
        services.mirror_result(UserFactory(), url, key="k")
    assert File.objects.count() == 0
    assert _local_objects() == []


@pytest.mark.django_db
def test_mirroring_from_loopback_is_refused_unless_allowed(fake_web) -> None:
    url = fake_web.file("/r.mp4", RESULT, "video/mp4")
    with pytest.raises(UnsafeUrl):
        services.mirror_result(UserFactory(), url, key="k")
    assert fake_web.hits == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_mirrors_of_one_result_keep_one_file(fake_web, allow_loopback_imports) -> None:
    # Given one result and two workers racing to mirror it
    url = fake_web.file("/r.mp4", RESULT, "video/mp4")
    user = UserFactory()
    results = run_together(
        2, lambda _n: str(services.mirror_result(user, url, key="animation_task:race").pk)
    )
    # Then both got the same file, and only one row and one object exist
    assert len(results) == 2 and results[0] == results[1]
    assert File.objects.filter(source_key="animation_task:race").count() == 1
    assert len(_local_objects()) == 1


@pytest.mark.django_db
def test_a_result_arriving_after_its_owner_was_erased_is_not_kept(
    fake_web, allow_loopback_imports
) -> None:
    # Given a job's owner who erased their account while the job ran
    from accounts import services as accounts

    url = fake_web.file("/late.mp4", RESULT, "video/mp4")
    owner, bystander = UserFactory(), UserFactory()
    accounts.erase_account(owner)
    # When its result is mirrored
    late = services.mirror_result(owner, url, key="animation_task:late")
    kept = services.mirror_result(bystander, url, key="animation_task:kept")
    # Then the copy is recorded deleted and its object is gone at once
    late.refresh_from_db()
    assert late.deleted_at is not None and late.purged_at is not None
    assert [p.name for p in _local_objects()] == [Path(kept.key).name]
    # And mirroring again stays idempotent, downloading nothing more
    assert services.mirror_result(owner, url, key="animation_task:late").pk == late.pk
    assert fake_web.hits == ["/late.mp4", "/late.mp4"]
    # While another user's result is kept as usual
    assert kept.deleted_at is None


@pytest.mark.django_db(transaction=True)
def test_a_result_stored_during_the_owners_erasure_is_not_left_behind(
    fake_web, allow_loopback_imports
) -> None:
    from accounts import hooks
    from accounts import services as accounts

    # Given a worker that mirrors a result in the middle of its owner's erasure,
    # after storage's own erasure hook has deleted the files it could see
    url = fake_web.file("/mid.mp4", RESULT, "video/mp4")
    owner = UserFactory()
    errors: list[BaseException] = []

    def mirror() -> None:
        try:
            services.mirror_result(owner, url, key="animation_task:mid")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=mirror)

    def mirror_now(user: object) -> None:
        worker.start()
        # Long enough to download and store; the row must wait for the erasure.
        worker.join(timeout=1.0)

    hooks.on_erasure("storage-test-mid-erasure")(mirror_now)
    try:
        accounts.erase_account(owner)
    finally:
        hooks.unregister("storage-test-mid-erasure")
    worker.join()

    # Then the late copy is recorded deleted and no object of the owner remains
    assert errors == []
    assert File.objects.get(source_key="animation_task:mid").deleted_at is not None
    assert _local_objects() == []
