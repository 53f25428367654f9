from __future__ import annotations

from rest_framework import serializers

from billing.models import CreditPackage, LedgerEntry, OrderStatus, PackagePrice, PaymentOrder


class LedgerEntrySerializer(serializers.ModelSerializer[LedgerEntry]):
    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "amount", "reserved_delta", "balance_after", "ref", "created_at"]


class CreditsSerializer(serializers.Serializer):
    balance = serializers.IntegerField()
    reserved = serializers.IntegerField()
    available = serializers.IntegerField()
    recent = LedgerEntrySerializer(many=True)


class PackagePriceSerializer(serializers.ModelSerializer[PackagePrice]):
    class Meta:
        model = PackagePrice
        fields = ["currency", "amount"]


class CreditPackageSerializer(serializers.ModelSerializer[CreditPackage]):
    prices = PackagePriceSerializer(many=True, read_only=True)

    class Meta:
        model = CreditPackage
        fields = ["id", "name", "credits", "prices"]


class PackageRefSerializer(serializers.ModelSerializer[CreditPackage]):
    class Meta:
        model = CreditPackage
        fields = ["id", "name"]


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


class StripePaymentSerializer(PaymentSerializer):
    class Meta(PaymentSerializer.Meta):
        fields = [*PaymentSerializer.Meta.fields, "checkout_url"]


class WechatPaymentSerializer(PaymentSerializer):
    class Meta(PaymentSerializer.Meta):
        fields = [
            *PaymentSerializer.Meta.fields,
            "trade_type",
            "code_url",
            "h5_url",
            "jsapi_params",
        ]


class StripeCreateSerializer(serializers.Serializer):
    package_id = serializers.IntegerField(min_value=1)
    currency = serializers.RegexField(
        r"^[A-Za-z]{3}$",
        required=False,
        help_text="ISO 4217 code of one of the package's prices; STRIPE_CURRENCY by default.",
    )


class WechatCreateSerializer(serializers.Serializer):
    package_id = serializers.IntegerField(min_value=1)
    trade_type = serializers.ChoiceField(choices=["native", "jsapi", "h5"])
    openid = serializers.CharField(required=False, allow_blank=True, max_length=128)

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
