"""Support's roles, as groups, and the permissions of the admin's actions.

- Support: reads everything support looks at; retries, cancels and re-polls
  jobs; resends the verification email; signs a customer out everywhere.
- Finance: reads the same; refunds payments and job credits, adjusts credits,
  replays payment notifications.
- Superusers: every permission there is (the ``is_superuser`` flag also passes
  every check), including deactivating accounts and editing records.

The action permissions are not model defaults (add/change/delete/view), so
they are created here, on their models' content types; each admin action checks
its own (``@admin.action(permissions=[...])``). Running this again changes
nothing; reversing it removes the groups and keeps the permissions.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ACTIONS = {
    ("accounts", "user"): [
        ("resend_verification_user", "Can resend the verification email"),
        ("sign_out_user", "Can sign a user out everywhere"),
        ("deactivate_user", "Can deactivate a user"),
    ],
    ("billing", "creditaccount"): [("adjust_creditaccount", "Can adjust credits")],
    ("billing", "paymentorder"): [("refund_paymentorder", "Can refund a payment")],
    ("billing", "providerevent"): [("replay_providerevent", "Can replay a notification")],
    ("animations", "animationtask"): [
        ("retry_animationtask", "Can retry a job"),
        ("cancel_animationtask", "Can cancel a job"),
        ("repoll_animationtask", "Can poll the provider for a job"),
        ("refund_animationtask", "Can refund a job's credits"),
    ],
}

# What support reads: view permission on each of these models.
READ = [
    ("accounts", "user"),
    ("account", "emailaddress"),
    ("socialaccount", "socialaccount"),
    ("billing", "creditaccount"),
    ("billing", "ledgerentry"),
    ("billing", "paymentorder"),
    ("billing", "paymentrefund"),
    ("billing", "providerevent"),
    ("billing", "creditpackage"),
    ("billing", "packageprice"),
    ("animations", "animationtask"),
    ("storage", "file"),
    ("admin", "logentry"),
]

ROLES = {
    "Support": [
        "accounts.resend_verification_user",
        "accounts.sign_out_user",
        "animations.retry_animationtask",
        "animations.cancel_animationtask",
        "animations.repoll_animationtask",
    ],
    "Finance": [
        "billing.adjust_creditaccount",
        "billing.refund_paymentorder",
        "billing.replay_providerevent",
        "animations.refund_animationtask",
    ],
}


def create_roles(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    # Default permissions are made after migrations; the roles need them now.
    for app_config in apps.get_app_configs():
        # create_permissions skips an app without a models module, which every
        # app of a migration's historical registry lacks.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = models_module

    def permission(label: str):
        app_label, codename = label.split(".")
        return Permission.objects.get(content_type__app_label=app_label, codename=codename)

    for (app_label, model), perms in ACTIONS.items():
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
        for codename, name in perms:
            Permission.objects.update_or_create(
                content_type=content_type, codename=codename, defaults={"name": name}
            )
    reads = [permission(f"{app_label}.view_{model}") for app_label, model in READ]
    for name, labels in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*reads, *(permission(label) for label in labels))
    superusers, _ = Group.objects.get_or_create(name="Superusers")
    superusers.permissions.add(*Permission.objects.all())


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=[*ROLES, "Superusers"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("account", "0009_emailaddress_unique_primary_email"),
        ("socialaccount", "0006_alter_socialaccount_extra_data"),
        ("mfa", "0003_authenticator_type_uniq"),
        ("accounts", "0002_token_generation"),
        ("billing", "0003_ledger_kind_valid"),
        ("animations", "0001_initial"),
        ("storage", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
