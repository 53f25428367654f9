"""Which region a request comes from: ``cn`` or ``global``.

In order: a country header set by a CDN we trust (``REGION_COUNTRY_HEADER``),
else a GeoIP lookup of the client address (a MaxMind database at
``GEOIP_DATABASE_PATH`` when set, else the embedded ``iptocc`` database), else
``DEFAULT_REGION``. The client address is ``REMOTE_ADDR`` unless that is one of
``TRUSTED_PROXIES``; then ``X-Forwarded-For`` is walked from the right past
our own proxies, because only the entries our proxies appended can be believed.
No lookup leaves the process.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import geoip2.database
import geoip2.errors
import iptocc
from django.conf import settings
from django.http import HttpRequest

from accounts.models import Region

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


def client_ip(request: HttpRequest) -> str | None:
    """The address of the client, trusting X-Forwarded-For only from our proxies."""
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


@lru_cache(maxsize=2)
def _maxmind_reader(path: str) -> geoip2.database.Reader:
    return geoip2.database.Reader(path)


def country_for_ip(ip: str) -> str | None:
    """ISO country code of ``ip`` from the configured GeoIP database, or None."""
    if settings.GEOIP_DATABASE_PATH:
        try:
            return _maxmind_reader(settings.GEOIP_DATABASE_PATH).country(ip).country.iso_code
        except (geoip2.errors.AddressNotFoundError, ValueError):
            return None
    try:
        return iptocc.country_code(ip)
    except ValueError:
        return None


def region_for_country(country: str | None) -> str | None:
    if not country or country.upper() in {"XX", "T1"}:
        return None
    return Region.CN if country.upper() == "CN" else Region.GLOBAL


def region_for_request(request: HttpRequest) -> str:
    """The region of ``request``: trusted CDN header, else GeoIP, else the default."""
    if settings.REGION_COUNTRY_HEADER:
        region = region_for_country(request.META.get(settings.REGION_COUNTRY_HEADER))
        if region:
            return region
    ip = client_ip(request)
    if ip:
        region = region_for_country(country_for_ip(ip))
        if region:
            return region
    return settings.DEFAULT_REGION
