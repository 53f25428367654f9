"""Billing fixtures: every test that touches the database ends with an exact ledger."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest

from billing.services import check_ledger
from billing.tests.fakes.stripe_api import fake_stripe  # noqa: F401
from billing.tests.fakes.wechatpay import fake_wechatpay  # noqa: F401


@pytest.fixture(autouse=True)
def _ledger_stays_exact(request: pytest.FixtureRequest) -> Iterator[None]:
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        yield
        return
    # Set the database up first so this check runs before its teardown.
    request.getfixturevalue("_django_db_helper")
    yield
    assert check_ledger() == []


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Billing talks to payment providers: make sure no test ever reaches a real one."""
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and not _is_loopback(str(host)):
            raise ConnectionRefusedError(f"Tests may not leave loopback: {address}")
        real_connect(sock, address)

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> list:
        # Refused before any DNS query: a resolver lookup is itself a way out.
        if host is not None and not _is_loopback(str(host)):
            raise socket.gaierror(f"Tests may not resolve outside loopback: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _is_loopback(host: str) -> bool:
    if host in {"localhost", "ip6-localhost"}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
