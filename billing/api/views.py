from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import services
from billing.api.serializers import CreditsSerializer


class CreditsView(APIView):
    """The signed-in user's credits and latest ledger entries."""

    @extend_schema(responses=CreditsSerializer, operation_id="users_credits")
    def get(self, request: Request) -> Response:
        account = services.account_for(request.user)
        data = {
            "balance": account.balance,
            "reserved": account.reserved,
            "available": account.available,
            "recent": services.recent_entries(request.user),
        }
        return Response(CreditsSerializer(data).data)
