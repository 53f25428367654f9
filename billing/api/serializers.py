from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import CreditPackage, LedgerEntry, OrderStatus, PackagePrice, PaymentOrder
from billing.wechat_gateway import TRADE_TYPES
from config.rendering import datetime_json

WECHAT_TRADE_TYPES = list(TRADE_TYPES)


def entry_json(entry: LedgerEntry) -> dict[str, Any]:
    """A ledger entry as the contract shows it, built directly (tests hold it equal
    to ``LedgerEntrySerializer``'s declared fields rendered by DRF)."""
    return {
        "id": entry.id,
        "kind": entry.kind,
        "amount": entry.amount,
        "reserved_delta": entry.reserved_delta,
        "balance_after": entry.balance_after,
        "ref": entry.ref,
        "created_at": datetime_json(entry.created_at),
    }


class LedgerEntrySerializer(serializers.ModelSerializer[LedgerEntry]):
    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "amount", "reserved_delta", "balance_after", "ref", "created_at"]
        read_only_fields = fields
        extra_kwargs = {
            "amount": {"help_text": "The signed change to the balance."},
            "reserved_delta": {"help_text": "The signed change to the reserved credits."},
            "ref": {"help_text": "What the entry is for (a task, an order); may be empty."},
        }

    def to_representation(self, instance: LedgerEntry) -> dict[str, Any]:
        return entry_json(instance)


class CreditsSerializer(serializers.Serializer):
    balance = serializers.IntegerField()
    reserved = serializers.IntegerField()
    available = serializers.IntegerField(help_text="balance - reserved")
    recent = LedgerEntrySerializer(many=True, help_text="The latest 20 entries, newest first.")

    def to_representation(self, instance: dict[str, Any]) -> dict[str, Any]:
        return {
            "balance": instance["balance"],
            "reserved": instance["reserved"],
            "available": instance["available"],
            "recent": [entry_json(entry) for entry in instance["recent"]],
        }


class PackagePriceSerializer(serializers.ModelSerializer[PackagePrice]):
    class Meta:
        model = PackagePrice
        fields = ["currency", "amount"]
        read_only_fields = fields


class CreditPackageSerializer(serializers.ModelSerializer[CreditPackage]):
    prices = PackagePriceSerializer(many=True, read_only=True)

    class Meta:
        model = CreditPackage
        fields = ["id", "name", "credits", "prices"]
        read_only_fields = fields


class PackageRefSerializer(serializers.ModelSerializer[CreditPackage]):
    class Meta:
        model = CreditPackage
        fields = ["id", "name"]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer[PaymentOrder]):
    """The contract's payment; the provider's next step appears once, on creation."""

    package = PackageRefSerializer(read_only=True)

    class Meta:
        model = PaymentOrder
        fields = [
            "id",
            "provider",
            "status",
            "package",
            "credits",
            "amount",
            "currency",
            "created_at",
            "paid_at",
        ]
        read_only_fields = fields


class StripePaymentSerializer(PaymentSerializer):
    checkout_url = serializers.SerializerMethodField()

    class Meta(PaymentSerializer.Meta):
        fields = [*PaymentSerializer.Meta.fields, "checkout_url"]
        read_only_fields = fields

    @extend_schema_field(
        serializers.URLField(
            allow_null=True,
            help_text="Stripe Checkout, where the browser pays; null once the order can "
            "no longer be paid there (failed, or created again after it closed).",
        )
    )
    def get_checkout_url(self, order: PaymentOrder) -> str | None:
        return order.checkout_url or None


class JsapiParamsSerializer(serializers.Serializer):
    """What ``WeixinJSBridge.invoke("getBrandWCPayRequest", ...)`` takes, signed; the
    field names are WeChat's own."""

    appId = serializers.CharField()
    timeStamp = serializers.CharField()
    nonceStr = serializers.CharField()
    package = serializers.CharField()
    signType = serializers.ChoiceField(choices=["RSA"])
    paySign = serializers.CharField()


class WechatPaymentSerializer(PaymentSerializer):
    trade_type = serializers.ChoiceField(choices=WECHAT_TRADE_TYPES, read_only=True)
    code_url = serializers.SerializerMethodField()
    h5_url = serializers.SerializerMethodField()
    jsapi_params = serializers.SerializerMethodField()

    class Meta(PaymentSerializer.Meta):
        fields = [
            *PaymentSerializer.Meta.fields,
            "trade_type",
            "code_url",
            "h5_url",
            "jsapi_params",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.CharField(
            allow_null=True, help_text="native: the weixin:// link to show as a QR code."
        )
    )
    def get_code_url(self, order: PaymentOrder) -> str | None:
        return order.code_url or None

    @extend_schema_field(
        serializers.URLField(allow_null=True, help_text="h5: where the mobile browser pays.")
    )
    def get_h5_url(self, order: PaymentOrder) -> str | None:
        return order.h5_url or None

    @extend_schema_field(
        JsapiParamsSerializer(allow_null=True, help_text="jsapi: for the WeChat JS bridge.")
    )
    def get_jsapi_params(self, order: PaymentOrder) -> dict[str, Any] | None:
        return order.jsapi_params or None


class StripeCreateSerializer(serializers.Serializer):
    package_id = serializers.IntegerField(min_value=1)
    currency = serializers.RegexField(
        r"^[A-Za-z]{3}$",
        required=False,
        help_text="ISO 4217 code of one of the package's prices; STRIPE_CURRENCY by default.",
    )


class WechatCreateSerializer(serializers.Serializer):
    package_id = serializers.IntegerField(min_value=1)
    trade_type = serializers.ChoiceField(choices=WECHAT_TRADE_TYPES)
    openid = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=128,
        help_text="The payer's openid; required for jsapi.",
    )

    def validate(self, attrs: dict) -> dict:
        if attrs["trade_type"] == "jsapi" and not attrs.get("openid"):
            raise serializers.ValidationError(
                {"openid": "JSAPI payments need the payer's openid."}, code="required"
            )
        return attrs


class WebhookAckSerializer(serializers.Serializer):
    received = serializers.BooleanField()


class PaymentListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False)
