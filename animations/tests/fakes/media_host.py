"""A static HTTP host on loopback, standing in for a public URL the provider fetches."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from config.tests.loopback_server import LoopbackServer


class MediaHost:
    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        # Every path asked for, in order: what was downloaded (or tried).
        self.hits: list[str] = []
        # A held path answers only once its gate is set; ``asked`` is set at the request.
        self.gates: dict[str, threading.Event] = {}
        self.asked: dict[str, threading.Event] = {}
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                host.hits.append(path)
                if path in host.gates:
                    host.asked[path].set()
                    host.gates[path].wait(timeout=30)
                entry = host.files.get(path)
                status, (data, ctype) = (200, entry) if entry else (404, (b"missing", "text/plain"))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = LoopbackServer(Handler).start()

    def put(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        self.files[f"/{name}"] = (data, content_type)
        return f"{self._server.base_url}/{name}"

    def hold(self, name: str) -> threading.Event:
        """Hold the answers for ``name`` until the returned gate is set;
        ``self.asked[f"/{name}"]`` tells when the first request arrived."""
        self.asked[f"/{name}"] = threading.Event()
        self.gates[f"/{name}"] = gate = threading.Event()
        return gate

    def close(self) -> None:
        for gate in self.gates.values():
            gate.set()
        self._server.stop()
