"""Test-only views that show which database served a request's reads."""

from __future__ import annotations

from django.contrib.sites.models import Site
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config import db_router, health, metrics

PREFIX = "probe-"


def probe_domains() -> list[str]:
    return sorted(Site.objects.filter(domain__startswith=PREFIX).values_list("domain", flat=True))


@csrf_exempt
def sites(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"domains": probe_domains()})


@csrf_exempt
def write_then_read(request: HttpRequest) -> JsonResponse:
    # A GET that writes, so the pin comes from the write and not from the method.
    before = probe_domains()
    Site.objects.create(domain=request.GET["domain"], name="probe")
    after = probe_domains()
    return JsonResponse({"before": before, "after": after})


@csrf_exempt
def reason(request: HttpRequest) -> JsonResponse:
    if request.GET.get("write"):
        Site.objects.create(domain=request.GET["write"], name="probe")
    state = db_router.current_state()
    return JsonResponse({"reason": db_router.primary_reason(state)})


class ApiSites(APIView):
    """Signed-in: list the probe rows, writing one first when asked."""

    def get(self, request: Request) -> Response:
        if request.query_params.get("write"):
            Site.objects.create(domain=request.query_params["write"], name="probe")
        domains = probe_domains()
        return Response(
            {"domains": domains, "reason": db_router.primary_reason(db_router.current_state())}
        )


urlpatterns = [
    path("probe/api/sites", ApiSites.as_view()),
    path("probe/reason", reason),
    path("probe/sites", sites),
    path("probe/write-then-read", write_then_read),
    path("readyz", health.readyz),
    path("metrics", metrics.metrics),
]
