"""Local backend: signed, expiring links served by our own view, over real HTTP."""

from __future__ import annotations

import time

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from prometheus_client import REGISTRY

from accounts.models import User
from accounts.tests.factories import UserFactory
from storage import services, signing
from storage.models import File
from storage.tests.media import make_image, make_video


def _store_video(user: User) -> tuple[File, bytes]:
    content = make_video(3, 320, 240, 5, audio=True)
    file = services.store_upload(user, SimpleUploadedFile("v.mp4", content), kind="video")
    return file, content


@pytest.mark.django_db(transaction=True)
def test_signed_url_fetch_over_http_then_delete(live_server, settings) -> None:
    # Given a video on the local backend and a live server as SITE_URL
    settings.SITE_URL = live_server.url
    user = UserFactory()
    file, content = _store_video(user)
    url = services.signed_url(file)
    # When it is fetched with a real HTTP GET
    response = httpx.get(url)
    # Then the bytes come back
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    # And a byte range works, as players and DashScope ask for
    partial = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert partial.status_code == 206
    assert partial.content == content[10:20]
    assert partial.headers["content-range"] == f"bytes 10-19/{len(content)}"
    # When the file is erased with its owner
    services.soft_delete_user_files(user)
    # Then the link no longer serves it and the object is gone
    assert httpx.get(url).status_code == 404
    assert not services.get_storage("local").exists(file.key)


@pytest.mark.django_db
def test_tampered_or_expired_links_are_not_found(client) -> None:
    file = services.store_upload(
        UserFactory(), SimpleUploadedFile("a.jpg", make_image()), kind="image"
    )
    path = f"/api/videos/files/{file.id}.jpg"
    good = signing.sign(str(file.id), int(time.time()) + 60)
    past = int(time.time()) - 1
    assert client.get(path, {"expires": int(time.time()) + 60, "sig": good}).status_code == 200
    assert client.get(path, {"expires": int(time.time()) + 3600, "sig": good}).status_code == 404
    assert (
        client.get(path, {"expires": past, "sig": signing.sign(str(file.id), past)}).status_code
        == 404
    )
    assert client.get(path).status_code == 404


@pytest.mark.django_db
def test_provider_url_lives_longer_than_client_url(settings) -> None:
    settings.STORAGE_SIGNED_URL_SECONDS = 60
    settings.STORAGE_PROVIDER_URL_SECONDS = 7200
    file = services.store_upload(
        UserFactory(), SimpleUploadedFile("a.jpg", make_image()), kind="image"
    )
    now = int(time.time())
    client_expires = int(services.signed_url(file).split("expires=")[1].split("&")[0])
    provider = services.provider_url(file)
    provider_expires = int(provider.split("expires=")[1].split("&")[0])
    assert provider.startswith(f"{settings.SITE_URL}/api/videos/files/{file.id}.jpg?")
    assert now + 59 <= client_expires <= now + 61
    assert now + 7199 <= provider_expires <= now + 7201


@pytest.mark.django_db(transaction=True)
def test_a_signed_link_reads_the_file_row_from_the_primary(client, settings) -> None:
    # Given a replica configured (unreachable here, so reads would fall back)
    settings.DATABASE_REPLICAS = ["replica1"]
    file = services.store_upload(
        UserFactory(), SimpleUploadedFile("a.jpg", make_image()), kind="image"
    )
    labels = {"target": "primary", "reason": "forced"}
    before = REGISTRY.get_sample_value("animate_db_reads_total", labels) or 0.0

    # When the link is fetched the moment the file exists
    response = client.get(services.signed_url(file))

    # Then the row was read from the primary, where it surely is
    assert response.status_code == 200
    assert REGISTRY.get_sample_value("animate_db_reads_total", labels) - before == 1
