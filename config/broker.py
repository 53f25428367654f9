"""The embedded mode's filesystem Celery broker, with atomic message writes.

kombu's filesystem transport creates a message file and then writes it, so a
worker polling the folder can move and read the file while it is still empty
and die on the JSON decode (kombu#1551): ``make run`` stopped after some
minutes. Here each message is written under a name no queue matches and
renamed into place (``os.replace``, atomic on one filesystem), so a reader only
ever sees whole messages.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot: filename.partition(".")[2] matches no "<queue>.msg".
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
