"""Unset, the region's backend follows what is configured: OSS for cn, S3 for global."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_READ = (
    "import json; from config.settings import base; "
    "print(json.dumps([base.STORAGE_BACKEND_CN, base.STORAGE_BACKEND_GLOBAL]))"
)


def _backends(**env: str) -> list[str]:
    # Settings are read once per process: each case gets a fresh interpreter.
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("STORAGE_") and k != "DJANGO_READ_DOT_ENV_FILE"
    }
    done = subprocess.run(
        [sys.executable, "-c", _READ],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ["local", "local"]),
        ({"STORAGE_OSS_BUCKET": "cn-bucket"}, ["oss", "local"]),
        ({"STORAGE_S3_BUCKET": "global-bucket"}, ["local", "s3"]),
        (
            {"STORAGE_OSS_BUCKET": "cn-bucket", "STORAGE_S3_BUCKET": "global-bucket"},
            ["oss", "s3"],
        ),
        (
            {"STORAGE_S3_BUCKET": "b", "STORAGE_BACKEND_CN": "s3", "STORAGE_BACKEND_GLOBAL": ""},
            ["s3", "s3"],
        ),
    ],
)
def test_backend_per_region_defaults_to_the_configured_bucket(env, expected) -> None:
    assert _backends(**env) == expected
