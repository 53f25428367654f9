"""The embedded mode's filesystem Celery broker, with atomic message writes.

kombu's filesystem transport creates a message file and then writes it, so a
worker polling the folder can move and read the file while it is still empty
and die on the JSON decode (kombu#1551): ``make run`` stopped after some
minutes. Here each message is written under a name no queue matches and
renamed into place (``os.replace``, atomic on one filesystem), so a reader only
ever sees whole messages. An exchange's table of bindings has the same race when
the first binding creates its file (a publisher reads it empty): that file is
written aside too and linked into place only if it is still absent; a later
binding updates it under kombu's lock, as before.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    # kombu's filesystem Channel overrides _put with this signature (payload, **kwargs);
    # its stubs ignore the same mismatch with the abstract channel's (queue, message).
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot: filename.partition(".")[2] matches no "<queue>.msg".
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str | None, queue: str) -> None:
        # kombu's own helper (the exchange's bindings file); its stubs predate it.
        file = self._exchange_file(exchange)  # type: ignore[attr-defined]
        self.control_folder.mkdir(exist_ok=True)
        if not file.exists():
            binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
            partial = file.with_name(f".{file.name}.{uuid.uuid4()}.part")
            try:
                partial.write_bytes(str_to_bytes(dumps([binding])))
                try:
                    os.link(partial, file)  # atomic, and only if no one created it meanwhile
                    return
                except FileExistsError:
                    pass
                finally:
                    partial.unlink()
            except OSError as exc:
                raise ChannelError(f"Cannot open {file}") from exc
        super()._queue_bind(exchange, routing_key, pattern, queue)


class Transport(filesystem.Transport):
    Channel = Channel
