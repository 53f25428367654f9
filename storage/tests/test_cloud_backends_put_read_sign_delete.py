"""S3 (moto's server) and OSS (a signature-checking fake), with the real boto3 and
oss2 clients: put, read back, fetch the signed URL over HTTP, delete."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import UserFactory
from storage import services
from storage.backends import get_storage
from storage.errors import StorageUnavailable
from storage.models import File
from storage.tests.fixtures import OSS_BUCKET
from storage.tests.media import make_image, make_video

pytestmark = pytest.mark.django_db


def _store_then_round_trip(backend: str) -> tuple[File, bytes]:
    user = UserFactory()
    content = make_video(3, 320, 240, 5, audio=True, container="mov")
    # When a video is uploaded
    file = services.store_upload(user, SimpleUploadedFile("clip.mov", content), kind="video")
    # Then it lives on the backend under its key, readable back byte for byte
    assert file.backend == backend
    assert file.key == f"video/{user.id}/{file.id}.mov"
    store = get_storage(backend)
    assert store.exists(file.key)
    assert store.open(file.key).read() == content
    # And its signed URL serves it to a plain HTTP GET
    response = httpx.get(services.signed_url(file, expires_in=120))
    assert response.status_code == 200
    assert response.content == content
    assert hashlib.sha256(response.content).hexdigest() == file.sha256
    return file, content


def test_s3_put_read_signed_fetch_delete(s3_storage, django_capture_on_commit_callbacks) -> None:
    file, _content = _store_then_round_trip("s3")
    url = services.signed_url(file, expires_in=120)
    assert url.startswith(f"{s3_storage['endpoint_url']}/{s3_storage['bucket_name']}/video/")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=120" in url
    # When the owner is erased
    with django_capture_on_commit_callbacks(execute=True):
        services.soft_delete_user_files(file.owner)
    # Then the object is deleted from the bucket and the row says so
    file.refresh_from_db()
    assert file.deleted_at is not None and file.purged_at is not None
    assert not get_storage("s3").exists(file.key)


def test_oss_put_read_signed_fetch_delete(oss_storage, django_capture_on_commit_callbacks) -> None:
    file, content = _store_then_round_trip("oss")
    # The fake stored exactly the bytes, with the detected content type
    stored = oss_storage.objects[(OSS_BUCKET, file.key)]
    assert stored.body == content
    assert stored.content_type == "video/quicktime"
    url = services.signed_url(file, expires_in=120)
    assert url.startswith(f"{oss_storage.endpoint}/{OSS_BUCKET}/video/")
    assert "OSSAccessKeyId=" in url and "Signature=" in url
    with django_capture_on_commit_callbacks(execute=True):
        services.soft_delete_user_files(file.owner)
    assert (OSS_BUCKET, file.key) not in oss_storage.objects
    assert ("DELETE", f"/{OSS_BUCKET}/{file.key}", 204) in oss_storage.requests


def test_oss_refuses_a_tampered_signed_url(oss_storage) -> None:
    file = services.store_upload(
        UserFactory(), SimpleUploadedFile("a.png", make_image(300, 300, "PNG")), kind="image"
    )
    url = services.signed_url(file, expires_in=120)
    tampered = url.replace(file.key.split("/")[-1], "other.png")
    response = httpx.get(tampered)
    assert response.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text


def test_oss_with_a_wrong_secret_stores_nothing(oss_storage, settings) -> None:
    # Given credentials the (fake) OSS does not accept
    settings.STORAGE_OSS = {**settings.STORAGE_OSS, "access_key_secret": "wrong-secret"}
    # When an upload is stored
    with pytest.raises(StorageUnavailable):
        services.store_upload(
            UserFactory(), SimpleUploadedFile("a.png", make_image(300, 300, "PNG")), kind="image"
        )
    # Then nothing was kept anywhere
    assert File.objects.count() == 0
    assert oss_storage.objects == {}
    assert [status for _verb, _path, status in oss_storage.requests] == [403]


def test_s3_without_its_bucket_stores_nothing(s3_storage, settings) -> None:
    # Given a bucket moto does not have (boto3 raises ClientError: NoSuchBucket)
    settings.STORAGE_S3 = {**settings.STORAGE_S3, "bucket_name": "no-such-bucket"}
    # When an upload is stored
    with pytest.raises(StorageUnavailable):
        services.store_upload(
            UserFactory(), SimpleUploadedFile("a.png", make_image(300, 300, "PNG")), kind="image"
        )
    # Then nothing was kept
    assert File.objects.count() == 0


def test_region_picks_the_backend(settings, s3_storage, oss_storage) -> None:
    # Given cn users on OSS and global users on S3
    settings.STORAGE_BACKEND_CN = "oss"
    settings.STORAGE_BACKEND_GLOBAL = "s3"
    image = SimpleUploadedFile("a.jpg", make_image())
    # When each uploads
    cn_file = services.store_upload(UserFactory(region="cn"), image, kind="image")
    global_file = services.store_upload(UserFactory(region="global"), image, kind="image")
    # Then each file lives, and is remembered to live, in its region's backend
    assert (cn_file.backend, global_file.backend) == ("oss", "s3")
    assert (OSS_BUCKET, cn_file.key) in oss_storage.objects
    assert get_storage("s3").exists(global_file.key)
    assert not get_storage("s3").exists(cn_file.key)
    # And changing the setting later does not lose older files
    settings.STORAGE_BACKEND_CN = "local"
    assert httpx.get(services.signed_url(cn_file)).status_code == 200


def test_upload_endpoint_on_s3_answers_a_presigned_url(api_client, s3_storage) -> None:
    # Given a global user whose files go to S3
    user = UserFactory(region="global")
    content = make_image(512, 512, "WEBP")
    api_client.force_authenticate(user)
    # When an image is uploaded through the API
    response = api_client.post(
        "/api/videos/upload",
        {"file": SimpleUploadedFile("me.webp", content), "kind": "image"},
        format="multipart",
    )
    # Then the answer links to the S3 object with a presigned, expiring URL
    assert response.status_code == 201, response.content
    body = response.json()
    file = File.objects.get(pk=body["id"])
    assert (file.backend, body["content_type"]) == ("s3", "image/webp")
    assert body["url"].startswith(f"{s3_storage['endpoint_url']}/{s3_storage['bucket_name']}/")
    assert "X-Amz-Expires=3600" in body["url"]
    assert httpx.get(body["url"]).content == content


def test_oss_refuses_an_expired_signed_url(oss_storage) -> None:
    file = services.store_upload(
        UserFactory(), SimpleUploadedFile("a.png", make_image(300, 300, "PNG")), kind="image"
    )
    expired = get_storage("oss").bucket.sign_url("GET", file.key, -5, slash_safe=True)
    response = httpx.get(expired)
    assert response.status_code == 403
    assert "Request has expired" in response.text
    assert httpx.get(services.signed_url(file)).status_code == 200
