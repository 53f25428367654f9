"""Test-only API views that exercise the DRF defaults and the error mapping."""

from __future__ import annotations

from django.contrib.sites.models import Site
from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import DomainError

handler403 = "config.errors.json_403"
handler404 = "config.errors.json_404"
handler500 = "config.errors.json_500"


class NotEnoughProbes(DomainError):
    code = "not_enough_probes"
    status_code = 402
    default_detail = "Not enough probes."


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "domain"]


class SiteList(generics.ListAPIView):
    queryset = Site.objects.order_by("id")
    serializer_class = SiteSerializer


class Public(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class Scoped(APIView):
    throttle_scope = "probe"

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class Boom(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        raise RuntimeError("an unexpected bug")


class Missing(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        raise Http404


class Domain(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        raise NotEnoughProbes(needed=5, available=2, retry_after=30)


class Validate(APIView):
    permission_classes = [AllowAny]

    class Input(serializers.Serializer):
        count = serializers.IntegerField(min_value=1)

    def post(self, request: Request) -> Response:
        self.Input(data=request.data).is_valid(raise_exception=True)
        return Response(status=204)


class DatabaseGone(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        raise OperationalError(2013, "Lost connection to server during query")


def django_forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def django_boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug outside DRF")


urlpatterns = [
    path("api/sites", SiteList.as_view()),
    path("api/public", Public.as_view()),
    path("api/scoped", Scoped.as_view()),
    path("api/boom", Boom.as_view()),
    path("api/missing", Missing.as_view()),
    path("api/domain", Domain.as_view()),
    path("api/validate", Validate.as_view()),
    path("api/database-gone", DatabaseGone.as_view()),
    path("plain/boom", django_boom),
    path("plain/forbidden", django_forbidden),
]
