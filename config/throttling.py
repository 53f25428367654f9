"""DRF throttles that key anonymous clients by ``config.client_address.client_ip``.

DRF's ``BaseThrottle.get_ident`` believes ``X-Forwarded-For`` as the client
sent it while ``NUM_PROXIES`` is unset, so a spoofed header gave every request
a fresh counter. Every throttle of the platform (the defaults below, accounts'
per-address throttles, uploads, payments) derives from ``ClientAddressThrottle``
and so counts a client the way regions and allauth see it: ``TRUSTED_PROXIES``
decides which forwarded hops are believed.

Rates are read at request time (``DEFAULT_THROTTLE_RATES`` of the current
settings), not frozen into a class attribute at import.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ImproperlyConfigured
from rest_framework import throttling
from rest_framework.settings import api_settings

from config.client_address import client_ip


def default_throttle_classes() -> list[type[throttling.BaseThrottle]]:
    """DEFAULT_THROTTLE_CLASSES as classes: api_settings imports the dotted paths
    of the settings (the DRF stubs type them as the strings)."""
    return cast("list[type[throttling.BaseThrottle]]", list(api_settings.DEFAULT_THROTTLE_CLASSES))


class ClientAddressThrottle(throttling.SimpleRateThrottle):
    """The base of every throttle: one client-address rule, rates read per request."""

    def get_ident(self, request: Any) -> str:
        return client_ip(request) or "unknown"

    def get_rate(self) -> str | None:
        # The DRF stubs type the rates as numbers; they are "<count>/<period>" strings.
        rates = cast("dict[str, str | None]", api_settings.DEFAULT_THROTTLE_RATES)
        if self.scope is None or self.scope not in rates:
            raise ImproperlyConfigured(f"No throttle rate is set for {self.scope!r}.")
        return rates[self.scope]


class AnonRateThrottle(ClientAddressThrottle, throttling.AnonRateThrottle):
    """Anonymous requests per client address (``anon``)."""


class UserRateThrottle(ClientAddressThrottle, throttling.UserRateThrottle):
    """Requests per signed-in user, or per client address when anonymous (``user``)."""


class ScopedRateThrottle(ClientAddressThrottle, throttling.ScopedRateThrottle):
    """Requests per user or address for views naming a ``throttle_scope``."""
