"""Signed, expiring URLs for files on the local backend, served by our own view.

The signature covers the file id and the expiry time, keyed by SECRET_KEY, so a
link cannot be extended or pointed at another file.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import urlencode

_SALT = "storage.local-file-url"


def sign(file_id: str, expires: int) -> str:
    return salted_hmac(_SALT, f"{file_id}:{expires}", algorithm="sha256").hexdigest()


def is_valid(file_id: str, expires: str | None, signature: str | None) -> bool:
    """True while the link is unexpired and its signature matches."""
    if not expires or not signature or not expires.isdigit():
        return False
    if int(expires) < int(time.time()):
        return False
    return constant_time_compare(sign(file_id, int(expires)), signature)


def local_url(file_id: str, extension: str, *, expires_in: int) -> str:
    expires = int(time.time()) + expires_in
    path = reverse("storage:file-content", kwargs={"file_id": file_id, "ext": extension})
    query = urlencode({"expires": str(expires), "sig": sign(file_id, expires)})
    return f"{settings.SITE_URL}{path}?{query}"
