"""The guard every test runs under refuses to leave loopback."""

from __future__ import annotations

import socket

import httpx
import pytest
import requests


def test_a_connection_beyond_loopback_is_refused_before_any_packet(_loopback_only) -> None:
    # 192.0.2.1 is TEST-NET-1: never routed, so even a broken guard sends nothing useful.
    with pytest.raises(requests.ConnectionError):
        requests.get("http://192.0.2.1/", timeout=1)

    assert _loopback_only == ["connect ('192.0.2.1', 80)"]
    _loopback_only.clear()


def test_a_name_lookup_that_could_reach_dns_is_refused(_loopback_only) -> None:
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("accounts.google.com", 443)

    assert _loopback_only == ["resolve 'accounts.google.com'"]
    _loopback_only.clear()


def test_loopback_stays_open(_loopback_only) -> None:
    assert socket.getaddrinfo("localhost", 80)
    assert socket.getaddrinfo("127.0.0.1", 80)
    assert _loopback_only == []


def test_httpx_is_refused_too(_loopback_only) -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.get("http://203.0.113.7/", timeout=1)

    assert _loopback_only == ["connect ('203.0.113.7', 80)"]
    _loopback_only.clear()
