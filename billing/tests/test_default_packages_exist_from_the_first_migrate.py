"""A new deployment sells the default packages from its first migrate; one that
has packages keeps its own; staff edit and withdraw them in the admin."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import Client

from accounts.tests.factories import UserFactory
from billing.models import CreditPackage, PackagePrice
from billing.tests.factories import CreditPackageFactory

pytestmark = pytest.mark.django_db

MIGRATION = "0005_default_packages"
CATALOGUE = [
    ("Starter", 100, [("CNY", 2900), ("USD", 499)]),
    ("Standard", 500, [("CNY", 12900), ("USD", 1999)]),
    ("Pro", 1200, [("CNY", 25900), ("USD", 3999)]),
]


def _run_the_migration() -> None:
    module = importlib.import_module(f"billing.migrations.{MIGRATION}")
    [operation] = module.Migration.operations
    operation.code(apps, SimpleNamespace(connection=connection))


def _catalogue() -> list[tuple[str, int, list[tuple[str, int]]]]:
    return [
        (p.name, p.credits, [(price.currency, price.amount) for price in p.prices.all()])
        for p in CreditPackage.objects.prefetch_related("prices")
    ]


def test_the_migration_is_applied_by_migrate() -> None:
    loader = MigrationLoader(connection)

    assert ("billing", MIGRATION) in loader.applied_migrations


def test_an_empty_catalogue_gets_three_packages_priced_in_cny_and_usd_once() -> None:
    # given a deployment with no package at all
    CreditPackage.objects.all().delete()

    # when the migration runs (and, say, seed_packages after it)
    _run_the_migration()
    _run_the_migration()
    call_command("seed_packages")

    # then the defaults exist once, active, in order, with a price per currency
    assert _catalogue() == CATALOGUE
    assert CreditPackage.objects.filter(active=True).count() == 3
    assert PackagePrice.objects.count() == 6


def test_a_deployment_that_has_packages_is_not_touched() -> None:
    # given a catalogue of its own, even one whose only package is withdrawn
    CreditPackage.objects.all().delete()
    own = CreditPackageFactory(name="Own", credits=42, active=False, prices={"EUR": 100})

    _run_the_migration()
    call_command("seed_packages")

    assert list(CreditPackage.objects.values_list("pk", "name", "active")) == [
        (own.pk, "Own", False)
    ]
    assert list(PackagePrice.objects.values_list("currency", "amount")) == [("EUR", 100)]


def test_staff_edit_and_withdraw_default_packages_in_the_admin(api_client) -> None:
    # given the default catalogue
    CreditPackage.objects.all().delete()
    _run_the_migration()
    starter, standard, pro = CreditPackage.objects.all()
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))

    # when staff withdraw Starter from the list and reprice Pro on its page
    listed = staff.post(
        "/admin/billing/creditpackage/",
        {
            "form-TOTAL_FORMS": "3",
            "form-INITIAL_FORMS": "3",
            **{f"form-{n}-id": str(p.pk) for n, p in enumerate([starter, standard, pro])},
            **{f"form-{n}-ordering": str(n) for n in range(3)},
            "form-1-active": "on",
            "form-2-active": "on",
            "_save": "Save",
        },
    )
    cny, usd = pro.prices.order_by("currency")
    edited = staff.post(
        f"/admin/billing/creditpackage/{pro.pk}/change/",
        {
            "name": "Pro",
            "credits": "1500",
            "active": "on",
            "ordering": "2",
            "prices-TOTAL_FORMS": "2",
            "prices-INITIAL_FORMS": "2",
            "prices-0-id": str(cny.pk),
            "prices-0-package": str(pro.pk),
            "prices-0-currency": "CNY",
            "prices-0-amount": "29900",
            "prices-1-id": str(usd.pk),
            "prices-1-package": str(pro.pk),
            "prices-1-currency": "USD",
            "prices-1-amount": "3999",
            "_save": "Save",
        },
    )

    # then the shop lists what staff left on sale, at their prices
    assert (listed.status_code, edited.status_code) == (302, 302)
    shown = api_client.get("/api/payments/packages").json()
    assert [(p["name"], p["credits"], p["prices"]) for p in shown] == [
        (
            "Standard",
            500,
            [{"currency": "CNY", "amount": 12900}, {"currency": "USD", "amount": 1999}],
        ),
        ("Pro", 1500, [{"currency": "CNY", "amount": 29900}, {"currency": "USD", "amount": 3999}]),
    ]
