"""A test-only view that fails with secrets in its request and its local variables."""

from __future__ import annotations

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

handler500 = "config.errors.json_500"


class SignInThatBreaks(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        password = request.data["password"]  # a frame variable Sentry would send
        raise RuntimeError(f"sign-in broke for {request.data['email']!r}" if password else "")


urlpatterns = [path("api/sign-in-that-breaks", SignInThatBreaks.as_view())]
