"""Test settings: MariaDB and Redis over real connections.

``DATABASE_URL`` / ``REDIS_URL`` win when set. Otherwise the local MariaDB
(127.0.0.1:3306, root) and Redis (127.0.0.1:6379) are used when they answer.
Without MariaDB the suite falls back to SQLite with a notice; under CI
(``CI=true``) that fallback is an error, because the concurrency tests prove
nothing on SQLite.
"""

import os
import socket
import sys

from django.core.exceptions import ImproperlyConfigured


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
if "DATABASE_URL" not in os.environ:
    if _answers(3306):
        os.environ["DATABASE_URL"] = "mysql://root@127.0.0.1:3306/animate"
    elif _ci:
        raise ImproperlyConfigured(
            "CI needs MariaDB on 127.0.0.1:3306; refusing to fall back to SQLite."
        )
    else:
        print(
            "NOTICE: MariaDB is not answering on 127.0.0.1:3306; testing on SQLite.",
            file=sys.stderr,
        )
if "REDIS_URL" not in os.environ:
    if _answers(6379):
        os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/9"
    elif _ci:
        raise ImproperlyConfigured("CI needs Redis on 127.0.0.1:6379.")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
# A test that pays starts the simulators it needs (billing/tests/simulators.py).
os.environ.setdefault("PAYMENT_SIMULATORS", "false")
os.environ.setdefault("VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "var", "test"))

from .base import *  # noqa: E402, F403
from .base import DATABASES  # noqa: E402

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_RESULT_BACKEND = "cache+memory://"
LOG_LEVEL = "WARNING"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
for _alias in DATABASES:
    if DATABASES[_alias]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES[_alias]["TEST"] = {"NAME": os.path.join(VAR_DIR, f"test-{_alias}.sqlite3")}  # noqa: F405
