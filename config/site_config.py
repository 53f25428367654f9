"""GET /api/config: what the SPA needs to draw itself for this deployment and region.

Each app says what it offers (``accounts.services.sign_in_methods``,
``billing.services.payment_methods``, ``storage.services.input_limits``,
``animations.services.modes``); this view only puts the answers together, for
anyone, signed in or not.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services as accounts
from accounts.models import Region
from accounts.regions import region_for_request
from animations import services as animations
from animations.models import Mode, TaskType
from billing import services as billing
from billing.api.serializers import WECHAT_TRADE_TYPES
from storage import services as storage

# Browsers may keep it this long; it varies with the client's address (its
# region), so only the browser's own cache may keep it.
CACHE_SECONDS = 300


class GoogleSignInSerializer(serializers.Serializer):
    client_id = serializers.CharField(help_text="The OAuth client id to start Google sign-in with.")


class WeChatSignInSerializer(serializers.Serializer):
    app_id = serializers.CharField(help_text="The WeChat app id to start WeChat sign-in with.")


class SignInMethodsSerializer(serializers.Serializer):
    password = serializers.BooleanField(help_text="Email and password, always offered.")
    google = GoogleSignInSerializer(allow_null=True, help_text="Null when not configured.")
    wechat = WeChatSignInSerializer(allow_null=True, help_text="Null when not configured.")


class StripeMethodSerializer(serializers.Serializer):
    currencies = serializers.ListField(
        child=serializers.CharField(),
        help_text="ISO 4217 codes packages can be bought in; the default first.",
    )


class WeChatPayMethodSerializer(serializers.Serializer):
    trade_types = serializers.ListField(
        child=serializers.ChoiceField(choices=WECHAT_TRADE_TYPES),
    )


class PaymentMethodsSerializer(serializers.Serializer):
    stripe = StripeMethodSerializer(allow_null=True, help_text="Null when not configured.")
    wechat = WeChatPayMethodSerializer(allow_null=True, help_text="Null when not configured.")


class ImageLimitsSerializer(serializers.Serializer):
    content_types = serializers.ListField(child=serializers.CharField())
    max_bytes = serializers.IntegerField()
    min_side = serializers.IntegerField(help_text="Pixels, on each side.")
    max_side = serializers.IntegerField(help_text="Pixels, on each side.")
    max_aspect_ratio = serializers.FloatField(help_text="Long side over short side.")


class VideoLimitsSerializer(ImageLimitsSerializer):
    min_seconds = serializers.FloatField()
    max_seconds = serializers.FloatField()


class InputLimitsSerializer(serializers.Serializer):
    image = ImageLimitsSerializer()
    video = VideoLimitsSerializer()


class ModeSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=TaskType.choices)
    mode = serializers.ChoiceField(choices=Mode.choices)
    credits_per_second = serializers.FloatField(
        help_text="Credits per second of reference video, rounded up per job."
    )


class SiteConfigSerializer(serializers.Serializer):
    region = serializers.ChoiceField(
        choices=Region.choices, help_text="The region of this request's client address."
    )
    sign_in = SignInMethodsSerializer()
    payments = PaymentMethodsSerializer()
    limits = InputLimitsSerializer()
    modes = ModeSerializer(many=True)
    signup_bonus = serializers.IntegerField(help_text="Credits a new account receives.")


class SiteConfigView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="config_get",
        responses={200: SiteConfigSerializer},
        summary="What this deployment offers: sign-in methods, payments, limits, prices.",
        description="Public and cacheable (`Cache-Control: private, max-age=300`). The "
        "region is the client address's; a signed-in user's own region is in "
        "`GET /api/auth/me`.",
    )
    def get(self, request: Request) -> Response:
        data = {
            "region": region_for_request(request._request),
            "sign_in": accounts.sign_in_methods(request._request),
            "payments": billing.payment_methods(),
            "limits": storage.input_limits(),
            "modes": animations.modes(),
            "signup_bonus": billing.signup_bonus(),
        }
        response = Response(SiteConfigSerializer(data).data)
        response["Cache-Control"] = f"private, max-age={CACHE_SECONDS}"
        return response
