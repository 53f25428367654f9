"""``/metrics`` for Prometheus, and only for it.

The scrape comes straight from the monitoring network; a request from anywhere
else, or one relayed by a proxy (it carries ``X-Forwarded-For``), gets the same
404 as an unknown path, so view names and traffic figures are not public.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django_prometheus.exports import ExportToDjangoView

from config.errors import json_404


def _allowed(request: HttpRequest) -> bool:
    if "HTTP_X_FORWARDED_FOR" in request.META:
        return False
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(net) for net in settings.METRICS_ALLOWED_NETWORKS)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return json_404(request)
    return ExportToDjangoView(request)
