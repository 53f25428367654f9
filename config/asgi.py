"""The ASGI application: uvicorn serves it (the events service, and the whole
site under ``make run``).

Django gives every ASGI request a thread of its own for its sync code
(``ThreadSensitiveContext``), alive until the response ends: for a live-update
stream that lasts minutes, a thread per stream. The stream's path skips it: its
sync middleware run on the process's one shared sync thread (briefly, at the
start), and the view's own database reads on the event loop's thread pool
(``animations.api.stream``), so an open stream holds no thread at all.
"""

import os
from typing import Any

import django
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

# The live-update stream (animations.api.stream).
STREAM_PATHS = frozenset({"/api/tasks/events"})


class Handler(ASGIHandler):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("path") in STREAM_PATHS:
            await self.handle(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


django.setup(set_prefix=False)
application = Handler()
