"""The guard behind every animations test: a connection past loopback fails."""

from __future__ import annotations

import httpx
import pytest


def test_a_connection_outside_loopback_is_refused_before_any_packet() -> None:
    with pytest.raises(AssertionError, match="outside loopback"):
        httpx.get("http://203.0.113.7/", timeout=1)


def test_loopback_connections_still_work(simulator) -> None:
    assert httpx.get(f"{simulator.base_url}/tasks/nope").status_code == 401
