"""A web worker that has served reads holds none of the heavy provider SDKs.

PyAV, oss2, boto3, stripe and wechatpayv3 cost a process some 40 MB between
them (the benchmark's RSS target is 150 MB a worker); each is imported by the
code that uses it, when it is first used. A fresh interpreter, as gunicorn's
worker is, loads the WSGI application under production settings and serves a
request; then these modules must still be absent.
"""

from __future__ import annotations

import json

from config.tests.fresh_process import run_python

HEAVY = ("av", "boto3", "botocore", "oss2", "stripe", "wechatpayv3")

PROBE = f"""
import json, sys
from config.wsgi import application
from django.test import Client

Client().get("/api/auth/me", secure=True, HTTP_HOST="api.example.com")
print(json.dumps(sorted(name for name in {HEAVY!r} if name in sys.modules)))
"""


def test_a_web_worker_serving_reads_has_imported_no_provider_sdk(tmp_path):
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "k" * 50,
        "JWT_SIGNING_KEY": "j" * 50,
        "DJANGO_ALLOWED_HOSTS": "api.example.com",
        "DATABASE_URL": "mysql://app:pw@127.0.0.1:3306/animate",
        "EMAIL_URL": "smtp://mailer:pw@smtp.example.com:587",
    }

    result = run_python(PROBE, tmp_path, env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []
