"""purge_files: dry run by default; removes objects of old deleted files and of
orphans (when an app says what is in use); rows stay, marked purged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.tests.factories import UserFactory
from storage import hooks, services
from storage.backends import get_storage
from storage.models import File
from storage.tests.media import make_image

pytestmark = pytest.mark.django_db


def _file(user, *, age_days: int = 0, deleted_days: int | None = None) -> File:
    file = services.store_upload(user, SimpleUploadedFile("a.jpg", make_image()), kind="image")
    File.objects.filter(pk=file.pk).update(
        created_at=timezone.now() - timedelta(days=age_days),
        deleted_at=None if deleted_days is None else timezone.now() - timedelta(days=deleted_days),
    )
    file.refresh_from_db()
    return file


@pytest.fixture
def no_reference_checks() -> Iterator[None]:
    """As if no app had said which files it uses (animations registers one)."""
    with hooks.in_use.override() as checks:
        checks.clear()
        yield


@pytest.fixture
def in_use_registry(no_reference_checks: None) -> set[str]:
    """Only the test's own reference check, removed afterwards."""
    used: set[str] = set()
    hooks.file_references("test")(lambda: used)
    return used


def _run(*args: str) -> str:
    out = StringIO()
    call_command("purge_files", *args, stdout=out)
    return out.getvalue()


@pytest.mark.usefixtures("no_reference_checks")
def test_dry_run_lists_but_deletes_nothing() -> None:
    user = UserFactory()
    old_deleted = _file(user, age_days=40, deleted_days=31)
    out = _run("--older-than", "30")
    assert f"would purge {old_deleted.id}" in out
    assert "dry run: nothing deleted" in out
    assert "orphans not considered" in out
    old_deleted.refresh_from_db()
    assert old_deleted.purged_at is None
    assert get_storage("local").exists(old_deleted.key)


@pytest.mark.usefixtures("no_reference_checks")
def test_execute_purges_only_old_deleted_files() -> None:
    user = UserFactory()
    old_deleted = _file(user, age_days=40, deleted_days=31)
    recent_deleted = _file(user, age_days=40, deleted_days=2)
    live_old = _file(user, age_days=90)
    out = _run("--older-than", "30", "--execute")
    assert "purged 1 file(s)" in out
    for file in (old_deleted, recent_deleted, live_old):
        file.refresh_from_db()
    assert old_deleted.purged_at is not None
    assert not get_storage("local").exists(old_deleted.key)
    # Not what is recent or live while no app says what is in use
    assert recent_deleted.purged_at is None and get_storage("local").exists(recent_deleted.key)
    assert live_old.deleted_at is None and get_storage("local").exists(live_old.key)
    # And a second run has nothing left to do
    assert "purged 0 file(s)" in _run("--older-than", "30", "--execute")


def test_orphans_are_purged_when_apps_report_what_is_in_use(in_use_registry) -> None:
    user = UserFactory()
    orphan = _file(user, age_days=40)
    used = _file(user, age_days=40)
    young = _file(user, age_days=1)
    in_use_registry.add(str(used.id))
    out = _run("--older-than", "30", "--execute")
    assert "orphaned files: 1" in out
    for file in (orphan, used, young):
        file.refresh_from_db()
    assert orphan.deleted_at is not None and orphan.purged_at is not None
    assert not get_storage("local").exists(orphan.key)
    assert used.deleted_at is None and young.deleted_at is None


def test_older_than_must_be_positive() -> None:
    with pytest.raises(CommandError):
        _run("--older-than", "0")
