"""storage_usage, the storage-bytes metric, the erasure hook, the admin, the schema."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction

from accounts.hooks import registered, run_erasure_hooks
from accounts.tests.factories import UserFactory
from storage import services
from storage.backends import get_storage
from storage.models import File
from storage.tests.media import make_image, make_video

pytestmark = pytest.mark.django_db

IMAGE = make_image(640, 480, "JPEG")
VIDEO = make_video(3)


def _store(user, content: bytes, kind: str) -> File:
    return services.store_upload(user, SimpleUploadedFile("x", content), kind=kind)


def test_storage_usage_reports_per_backend_and_per_user() -> None:
    alice, bob = UserFactory(email="alice@example.com"), UserFactory(email="bob@example.com")
    _store(alice, IMAGE, "image")
    _store(alice, VIDEO, "video")
    gone = _store(bob, IMAGE, "image")
    File.objects.filter(pk=gone.pk).update(deleted_at=gone.created_at)
    out = StringIO()
    call_command("storage_usage", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["backends"] == [
        {"backend": "local", "files": 2, "bytes": len(IMAGE) + len(VIDEO)}
    ]
    assert report["users"] == [
        {
            "owner_id": str(alice.id),
            "owner__email": "alice@example.com",
            "backend": "local",
            "files": 2,
            "bytes": len(IMAGE) + len(VIDEO),
        }
    ]
    text = StringIO()
    call_command("storage_usage", stdout=text)
    assert "alice@example.com" in text.getvalue()
    assert "bob@example.com" not in text.getvalue()


def test_metrics_expose_storage_bytes_per_backend(client) -> None:
    _store(UserFactory(), IMAGE, "image")
    body = client.get("/metrics").content.decode()
    assert f'animate_storage_bytes{{backend="local"}} {float(len(IMAGE))}' in body
    assert 'animate_storage_files{backend="local"} 1.0' in body


def test_erasure_hook_soft_deletes_files_and_removes_objects_after_commit(
    django_capture_on_commit_callbacks,
) -> None:
    # Given a user with two files and another user with one
    user, other = UserFactory(), UserFactory()
    mine = [_store(user, IMAGE, "image"), _store(user, VIDEO, "video")]
    theirs = _store(other, IMAGE, "image")
    assert "storage" in registered()["erasure"]
    # When accounts runs the erasure hooks in its transaction
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        run_erasure_hooks(user)
        # Then nothing is deleted from storage before the commit
        assert all(get_storage("local").exists(f.key) for f in mine)
    for callback in callbacks:
        callback()
    # And after it, the files are marked and their objects gone
    for file in mine:
        file.refresh_from_db()
        assert file.deleted_at is not None and file.purged_at is not None
        assert not get_storage("local").exists(file.key)
    # And the other user's file is untouched
    theirs.refresh_from_db()
    assert theirs.deleted_at is None and get_storage("local").exists(theirs.key)
    # And erasing again changes nothing
    with django_capture_on_commit_callbacks(execute=True) as again:
        run_erasure_hooks(user)
    assert again == []


def test_admin_lists_files_with_filters_search_and_a_signed_link(admin_client) -> None:
    file = _store(UserFactory(email="carol@example.com", region="cn"), IMAGE, "image")
    _store(UserFactory(email="dave@example.com"), IMAGE, "image")
    response = admin_client.get(
        "/admin/storage/file/", {"q": "carol@", "kind": "image", "owner__region": "cn"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "carol@example.com" in html
    assert "dave@example.com" not in html
    assert f"/api/videos/files/{file.id}.jpg?expires=" in html
    assert admin_client.get(f"/admin/storage/file/{file.id}/change/").status_code == 200
    by_region = admin_client.get("/admin/storage/file/", {"owner__region": "cn"})
    assert [f.pk for f in by_region.context["cl"].result_list] == [file.pk]
    by_backend = admin_client.get("/admin/storage/file/", {"backend__exact": "s3"})
    assert list(by_backend.context["cl"].result_list) == []


def test_schema_documents_upload_and_file_content(client) -> None:
    schema = client.get("/api/schema", HTTP_ACCEPT="application/json").json()
    upload = schema["paths"]["/api/videos/upload"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert upload["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/File"
    )
    assert {"413", "415", "400", "503"} <= set(upload["responses"])
    assert "`storage_unavailable`" in upload["responses"]["503"]["description"]
    assert any(path.startswith("/api/videos/files/") for path in schema["paths"])
    file_schema = schema["components"]["schemas"]["File"]
    assert sorted(file_schema["properties"]) == sorted(
        ["id", "kind", "content_type", "size", "width", "height", "duration", "url", "created_at"]
    )


def test_admin_delete_action_soft_deletes_and_removes_objects(
    admin_client, django_capture_on_commit_callbacks
) -> None:
    file = _store(UserFactory(), IMAGE, "image")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/storage/file/",
            {"action": "delete_selected_files", "_selected_action": [str(file.id)]},
            follow=True,
        )
    assert response.status_code == 200
    assert "Deleted 1 file(s)" in response.content.decode()
    file.refresh_from_db()
    assert file.deleted_at is not None and file.purged_at is not None
    assert File.objects.filter(pk=file.pk).exists()
    assert not get_storage("local").exists(file.key)


def test_unpurged_files_are_retried_later(django_capture_on_commit_callbacks) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from storage.tasks import retry_unpurged

    # Given a file deleted two hours ago whose object removal never happened
    file = _store(UserFactory(), IMAGE, "image")
    File.objects.filter(pk=file.pk).update(deleted_at=timezone.now() - timedelta(hours=2))
    # When the hourly task runs
    assert retry_unpurged() == 1
    # Then the object is gone, and a second run finds nothing to do
    file.refresh_from_db()
    assert file.purged_at is not None
    assert not get_storage("local").exists(file.key)
    assert retry_unpurged() == 0
