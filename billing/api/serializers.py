from __future__ import annotations

from rest_framework import serializers

from billing.models import LedgerEntry


class LedgerEntrySerializer(serializers.ModelSerializer[LedgerEntry]):
    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "amount", "reserved_delta", "balance_after", "ref", "created_at"]


class CreditsSerializer(serializers.Serializer):
    balance = serializers.IntegerField()
    reserved = serializers.IntegerField()
    available = serializers.IntegerField()
    recent = LedgerEntrySerializer(many=True)
