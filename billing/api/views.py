from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import JoinedRead, signed_in_user
from billing import errors as billing_errors
from billing import services
from billing.api.serializers import (
    CreditPackageSerializer,
    CreditsSerializer,
    LedgerEntrySerializer,
    PaymentListQuerySerializer,
    PaymentSerializer,
    StripeCreateSerializer,
    StripePaymentSerializer,
    WechatCreateSerializer,
    WechatPaymentSerializer,
)
from billing.errors import EventProcessingFailed
from billing.models import LedgerEntry, PaymentOrder
from config.client_address import client_ip
from config.errors import DomainError
from config.idempotency import idempotency_key, idempotency_parameter
from config.schema import NOT_FOUND, errors

IDEMPOTENCY_KEY = idempotency_parameter("returns the first payment and opens no other.")

CREATE_ERRORS = errors(
    billing_errors.PackageUnavailable,
    billing_errors.PaymentProviderUnavailable,
    billing_errors.PaymentProviderNotConfigured,
)


class CreditsView(APIView):
    """The signed-in user's credits and latest ledger entries (read with the user
    by authentication when it can)."""

    credits_read: JoinedRead | None = None

    def joined_read(self, alias: str, user_id: Any) -> JoinedRead:
        self.credits_read = services.joined_credits_read(alias, user_id)
        return self.credits_read

    @extend_schema(
        operation_id="users_credits",
        responses={200: CreditsSerializer},
        summary="Your credits: balance, reserved, available, and the latest entries.",
    )
    def get(self, request: Request) -> Response:
        # A plain read (no get_or_create): a credits GET must not pin its user.
        data = services.shown_credits(signed_in_user(request), self.credits_read)
        return Response(CreditsSerializer(data).data)


class CreditHistoryView(ListAPIView):
    """Every entry of the signed-in user's ledger, newest first, a page at a time."""

    serializer_class = LedgerEntrySerializer

    @extend_schema(
        operation_id="users_credits_history",
        summary="Every entry of your credit ledger, newest first, a page at a time.",
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[LedgerEntry]:
        return services.user_entries(signed_in_user(self.request))


class PaymentListView(ListAPIView):
    """The signed-in user's payments, newest first; ``?status=`` keeps one status."""

    serializer_class = PaymentSerializer

    @extend_schema(
        operation_id="payments_list",
        parameters=[PaymentListQuerySerializer],
        summary="Your payments, newest first, a page at a time.",
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[PaymentOrder]:
        query = PaymentListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return services.user_orders(
            signed_in_user(self.request), status=query.validated_data.get("status")
        )


class PackageListView(APIView):
    """Credit packages on sale, with a price per currency (minor units)."""

    permission_classes = [AllowAny]
    # Public: a stale token sent along must not hide the price list.
    authentication_classes: list = []

    @extend_schema(
        operation_id="payments_packages",
        responses={200: CreditPackageSerializer(many=True)},
        summary="The credit packages on sale, with a price per currency.",
    )
    def get(self, request: Request) -> Response:
        return Response(CreditPackageSerializer(services.active_packages(), many=True).data)


class StripeCreateView(APIView):
    """Open a Stripe Checkout Session; the SPA sends the browser to ``checkout_url``."""

    # Each creation calls the provider: a scripted client must not flood it.
    throttle_scope = "payments"

    @extend_schema(
        operation_id="payments_stripe_create",
        request=StripeCreateSerializer,
        responses={201: StripePaymentSerializer, **CREATE_ERRORS},
        parameters=[IDEMPOTENCY_KEY],
        summary="Buy a package with Stripe Checkout: send the browser to checkout_url.",
    )
    def post(self, request: Request) -> Response:
        body = StripeCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = services.create_stripe_order(
            signed_in_user(request),
            package_id=body.validated_data["package_id"],
            currency=body.validated_data.get("currency"),
            idempotency_key=idempotency_key(request),
        )
        return Response(StripePaymentSerializer(order).data, status=status.HTTP_201_CREATED)


class WechatCreateView(APIView):
    """Open a WeChat Pay transaction: native (``code_url``), jsapi (``jsapi_params``,
    needs ``openid``) or h5 (``h5_url``)."""

    # Each creation calls the provider: a scripted client must not flood it.
    throttle_scope = "payments"

    @extend_schema(
        operation_id="payments_wechat_create",
        request=WechatCreateSerializer,
        responses={201: WechatPaymentSerializer, **CREATE_ERRORS},
        parameters=[IDEMPOTENCY_KEY],
        summary="Buy a package with WeChat Pay: native QR code, JSAPI or H5.",
    )
    def post(self, request: Request) -> Response:
        body = WechatCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = services.create_wechat_order(
            signed_in_user(request),
            package_id=body.validated_data["package_id"],
            trade_type=body.validated_data["trade_type"],
            openid=body.validated_data.get("openid", ""),
            client_ip=client_ip(request) or "",
            idempotency_key=idempotency_key(request),
        )
        return Response(WechatPaymentSerializer(order).data, status=status.HTTP_201_CREATED)


class PaymentDetailView(APIView):
    """One of the user's payments; another user's is 404, as if it did not exist."""

    @extend_schema(
        operation_id="payments_get",
        responses={200: PaymentSerializer, **errors(NOT_FOUND)},
        summary="One of your payments: poll it after the provider's page.",
    )
    def get(self, request: Request, payment_id: str) -> Response:
        order = services.order_for(signed_in_user(request), payment_id)
        if order is None:
            raise NotFound()
        return Response(PaymentSerializer(order).data)


class StripeWebhookView(APIView):
    """Stripe's signed events. 200 once stored and processed (or ignored); 400
    ``invalid_signature`` for a forged, tampered or stale one; an error when
    processing failed, so that Stripe retries."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    # For providers, not for API clients: out of the public schema (and its SDKs).
    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        try:
            services.receive_stripe_event(request.body, request.headers.get("Stripe-Signature"))
        except DomainError:
            raise
        except Exception as exc:
            raise EventProcessingFailed() from exc
        return Response({"received": True})


class WechatWebhookView(APIView):
    """WeChat Pay v3 notifications. 204 when stored and processed; otherwise 4xx/5xx
    with WeChat's ``{"code": "FAIL", "message"}`` so that WeChat retries."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    # For providers, not for API clients: out of the public schema (and its SDKs).
    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        try:
            services.receive_wechat_notification(dict(request.headers), request.body)
        except DomainError as exc:
            return Response({"code": "FAIL", "message": exc.detail}, status=exc.status_code)
        except Exception:
            return Response({"code": "FAIL", "message": "processing failed"}, status=500)
        return Response(status=status.HTTP_204_NO_CONTENT)
