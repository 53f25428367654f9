"""Storage fixtures other apps can use too: ``from storage.tests.fixtures import *``
in a conftest. Servers are loopback-only, started once per session on port 0."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from storage.tests.fakes.oss import FakeOSS, start_fake_oss, stop_fake_oss
from storage.tests.fakes.web import FakeWeb, start_fake_web, stop_fake_web

S3_BUCKET = "animate-test"
OSS_BUCKET = "animate-test-cn"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's standalone S3 on 127.0.0.1; yields its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_storage(settings, moto_server: str) -> dict:
    """Every region's new files go to S3 (moto), in a fresh bucket per test."""
    bucket = f"{S3_BUCKET}-{secrets.token_hex(4)}"
    config = {
        "bucket_name": bucket,
        "endpoint_url": moto_server,
        "region_name": "us-east-1",
        "access_key": "AKIATESTKEY",
        "secret_key": secrets.token_hex(20),
        "addressing_style": "path",
    }
    boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id=config["access_key"],
        aws_secret_access_key=config["secret_key"],
    ).create_bucket(Bucket=bucket)
    settings.STORAGE_S3 = config
    settings.STORAGE_BACKEND_GLOBAL = "s3"
    settings.STORAGE_BACKEND_CN = "s3"
    return config


@pytest.fixture(scope="session")
def fake_oss_server() -> Iterator[FakeOSS]:
    server = start_fake_oss(
        access_key_id="LTAItestkey",
        access_key_secret=secrets.token_urlsafe(24),
        buckets={OSS_BUCKET},
    )
    yield server
    stop_fake_oss(server)


@pytest.fixture
def oss_storage(settings, fake_oss_server: FakeOSS) -> FakeOSS:
    """Every region's new files go to OSS (the fake, which checks signatures)."""
    settings.STORAGE_OSS = {
        "bucket_name": OSS_BUCKET,
        "endpoint": fake_oss_server.endpoint,
        "access_key_id": fake_oss_server.access_key_id,
        "access_key_secret": fake_oss_server.access_key_secret,
    }
    settings.STORAGE_BACKEND_GLOBAL = "oss"
    settings.STORAGE_BACKEND_CN = "oss"
    fake_oss_server.requests.clear()
    fake_oss_server.objects.clear()
    return fake_oss_server


@pytest.fixture(scope="session")
def fake_web_server() -> Iterator[FakeWeb]:
    server = start_fake_web()
    yield server
    stop_fake_web(server)


@pytest.fixture
def fake_web(fake_web_server: FakeWeb) -> FakeWeb:
    """A loopback web server with no routes and no hits yet."""
    fake_web_server.routes.clear()
    fake_web_server.hits.clear()
    return fake_web_server


@pytest.fixture
def allow_loopback_imports(settings) -> None:
    """Imports may reach loopback fakes (off by default: SSRF protection)."""
    settings.STORAGE_ALLOW_LOOPBACK_IMPORTS = True
