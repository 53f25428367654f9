from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from accounts.tests.factories import UserFactory
from billing.models import CreditPackage, PackagePrice, PaymentOrder


class CreditPackageFactory(DjangoModelFactory[CreditPackage]):
    class Meta:
        model = CreditPackage
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Pack {n}")
    credits = 500
    active = True
    ordering = factory.Sequence(int)

    @factory.post_generation
    def prices(self, create: bool, extracted: dict[str, int] | None, **kwargs: object) -> None:
        if not create:
            return
        for currency, amount in (extracted or {"USD": 500, "CNY": 3500}).items():
            PackagePrice.objects.create(package=self, currency=currency, amount=amount)


class PaymentOrderFactory(DjangoModelFactory[PaymentOrder]):
    class Meta:
        model = PaymentOrder

    user = factory.SubFactory(UserFactory)
    provider = "stripe"
    package = factory.SubFactory(CreditPackageFactory)
    credits = 500
    amount = 500
    currency = "USD"
