"""A new deployment starts with the default credit packages, so the shop is never
empty after the first migrate; a deployment that has packages is not touched."""

from django.db import migrations


def create_defaults(apps, schema_editor):
    from billing.services.orders import create_default_packages

    create_default_packages(
        package_model=apps.get_model("billing", "CreditPackage"),
        price_model=apps.get_model("billing", "PackagePrice"),
        using=schema_editor.connection.alias,
    )


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0004_order_provider_payment_id_index"),
    ]

    operations = [
        # Reversing leaves the packages: they may have been sold by then.
        migrations.RunPython(create_defaults, migrations.RunPython.noop),
    ]
