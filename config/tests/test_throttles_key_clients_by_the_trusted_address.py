"""Every throttle counts a client by one address rule (config.client_address):
X-Forwarded-For is believed only from TRUSTED_PROXIES, as for regions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.settings import api_settings
from rest_framework.views import APIView

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings) -> Callable[..., None]:
    def set_rates(**scopes: str) -> None:
        rest = {**settings.REST_FRAMEWORK}
        rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **scopes}
        settings.REST_FRAMEWORK = rest

    return set_rates


def test_a_spoofed_x_forwarded_for_does_not_reset_the_anonymous_throttle(
    api_client, rates, settings
) -> None:
    # given no proxy in front, and a client inventing a new forwarded address each time
    settings.TRUSTED_PROXIES = []
    rates(anon="3/min")

    codes = [
        api_client.get(
            "/api/payments/packages", REMOTE_ADDR="8.8.8.8", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}"
        ).status_code
        for n in range(5)
    ]

    # then the header is ignored: the fourth request from that address is throttled
    assert codes == [200, 200, 200, 429, 429]
    # and another client is not affected
    assert api_client.get("/api/payments/packages", REMOTE_ADDR="8.8.4.4").status_code == 200


def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_on_its_own(
    api_client, rates, settings
) -> None:
    # given our proxy at 10.0.0.2, and a client forging a first hop before its real address
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    rates(anon="2/min")

    def get(forwarded: str) -> int:
        return api_client.get(
            "/api/payments/packages", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded
        ).status_code

    first = [get(f"9.9.9.{n}, 8.8.8.8") for n in range(3)]
    other = get("8.8.4.4")

    # then the address our proxy appended is the client, whatever came before it
    assert first == [200, 200, 429]
    assert other == 200


def test_the_upload_throttle_of_an_anonymous_caller_uses_the_same_rule(rf, settings) -> None:
    from storage.api.views import UploadThrottle

    settings.TRUSTED_PROXIES = []
    request = rf.post("/", REMOTE_ADDR="8.8.8.8", HTTP_X_FORWARDED_FOR="1.2.3.4")

    assert UploadThrottle().get_ident(request) == "8.8.8.8"


def _views(resolver: URLResolver) -> list[type]:
    found: list[type] = []
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            found += _views(pattern)
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "cls", None) or getattr(
                pattern.callback, "view_class", None
            )
            if isinstance(view, type) and issubclass(view, APIView):
                found.append(view)
    return found


def test_every_throttle_of_every_endpoint_uses_the_one_client_address_rule() -> None:
    from config.throttling import ClientAddressThrottle

    throttles = {api_settings.DEFAULT_THROTTLE_CLASSES[0]}
    for view in _views(get_resolver()):
        throttles.update(view.throttle_classes)

    assert throttles, "no throttle found"
    offenders = sorted(t.__name__ for t in throttles if not issubclass(t, ClientAddressThrottle))
    assert offenders == []
