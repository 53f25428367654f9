"""Which region a request comes from: ``cn`` or ``global``.

In order: a country header set by a CDN we trust (``REGION_COUNTRY_HEADER``),
else a GeoIP lookup of the client address (a MaxMind database at
``GEOIP_DATABASE_PATH`` when set, else the embedded ``iptocc`` database), else
``DEFAULT_REGION``. The client address is ``config.client_address.client_ip``
(the one rule every throttle uses too). No lookup leaves the process.
"""

from __future__ import annotations

from functools import lru_cache

import geoip2.database
import geoip2.errors
import iptocc
from django.conf import settings
from django.http import HttpRequest

from accounts.models import Region
from config.client_address import client_ip


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
