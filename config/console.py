"""The web console (``frontend/``, built by Vite into ``CONSOLE_DIST_DIR``), served at ``/``.

WhiteNoise serves the build's files from the site root (``WHITENOISE_ROOT``):
hashed ``assets/*`` with a year's immutable caching, the rest briefly. Every
other GET that is not the API, the admin, the docs or a probe is one of the
console's own history-mode routes (``/tasks/<id>``, ``/verify-email?key=``...),
answered with ``index.html``, never cached, so a new build is picked up at
once. A path that names a file (has an extension) and is not in the build is
a 404, not the page.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from config.errors import json_404

# Everything that is not the console's: kept out of the fallback route.
NOT_CONSOLE = (
    "api",
    "admin",
    "docs",
    "redoc",
    "metrics",
    "healthz",
    "readyz",
    "media",
    "static",
)
CONSOLE_ROUTE = r"^(?!(?:{})(?:/|$)).*$".format("|".join(NOT_CONSOLE))

_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Animate</title></head>
<body><h1>The web console is not built</h1>
<p>Build it with <code>make run</code>, or <code>npm ci &amp;&amp; npm run build</code> in
<code>frontend/</code>. The API is at <a href="/docs">/docs</a>.</p></body></html>
"""

_cache: dict[str, tuple[float, bytes]] = {}


def _index_html() -> bytes | None:
    index = Path(settings.CONSOLE_DIST_DIR) / "index.html"
    try:
        mtime = index.stat().st_mtime
    except FileNotFoundError:
        return None
    cached = _cache.get(str(index))
    if cached is None or cached[0] != mtime:
        cached = (mtime, index.read_bytes())
        _cache[str(index)] = cached
    return cached[1]


@require_safe
def index(request: HttpRequest, path: str = "") -> HttpResponse:
    last = request.path.rstrip("/").rsplit("/", 1)[-1]
    if "." in last:
        return json_404(request)
    html = _index_html()
    if html is None:
        response = HttpResponse(_NOT_BUILT, status=503, content_type="text/html; charset=utf-8")
    else:
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response
