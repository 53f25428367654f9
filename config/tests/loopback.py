"""A guard that fails any test that tries to leave loopback.

The platform talks to Google, WeChat, Stripe, WeChat Pay, S3, OSS and
DashScope; every test uses loopback fakes of them, and this guard, autouse for
the whole suite (the root ``conftest.py``), proves it: a connection to any
other address, or a name lookup that could go out to DNS, is refused on the
spot and fails the test at teardown even when the code under test swallowed
the error.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: object) -> bool:
    if not isinstance(host, str | bytes):
        return False
    name = host.decode() if isinstance(host, bytes) else host
    if name.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    escapes: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def refuse(what: str) -> None:
        escapes.append(what)
        raise ConnectionRefusedError(f"Tests may not leave loopback: {what}")

    def connect(sock: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and not is_loopback(address[0]):
            refuse(f"connect {address!r}")
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        if isinstance(address, tuple) and not is_loopback(address[0]):
            refuse(f"connect {address!r}")
        return real_connect_ex(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # An IP literal resolves locally; any other name could send a DNS query.
        if host is not None and not is_loopback(host):
            try:
                ipaddress.ip_address(host.decode() if isinstance(host, bytes) else host)
            except ValueError:
                escapes.append(f"resolve {host!r}")
                raise socket.gaierror(socket.EAI_NONAME, "Tests may not resolve names") from None
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield escapes
    assert escapes == [], f"a test tried to leave loopback: {escapes}"
