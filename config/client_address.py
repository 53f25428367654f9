"""The client's address: one rule for throttles, regions, allauth and the logs.

``REMOTE_ADDR`` is the client unless it is one of ``TRUSTED_PROXIES``; then
``X-Forwarded-For`` is walked from the right past our own proxies, because only
the entries our proxies appended can be believed. A client can put anything in
the header itself, so without a trusted proxy in front the header is ignored
(DRF's own ``get_ident`` would take it as it comes while ``NUM_PROXIES`` is
unset, which let a spoofed header reset every anonymous throttle).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _trusted_networks(cidrs: tuple[str, ...]) -> tuple[_Network, ...]:
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())


def _parse(value: str) -> _IPAddress | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(ip: _IPAddress) -> bool:
    networks = _trusted_networks(tuple(settings.TRUSTED_PROXIES))
    return any(ip in n for n in networks)


def from_trusted_proxy(request: Any) -> bool:
    """Whether the peer of ``request`` itself is one of ``TRUSTED_PROXIES``."""
    remote = _parse(request.META.get("REMOTE_ADDR", ""))
    return remote is not None and _trusted(remote)


def client_ip(request: Any) -> str | None:
    """The address of the client of ``request`` (Django's or DRF's), trusting
    X-Forwarded-For only from our proxies; None without a usable REMOTE_ADDR."""
    remote = _parse(request.META.get("REMOTE_ADDR", ""))
    if remote is None:
        return None
    if not _trusted(remote):
        return str(remote)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [h for h in (_parse(p) for p in forwarded.split(",")) if h is not None]
    for hop in reversed(hops):
        if not _trusted(hop):
            return str(hop)
    return str(hops[0]) if hops else str(remote)
