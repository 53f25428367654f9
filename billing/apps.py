from __future__ import annotations

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from accounts.hooks import on_email_verified, on_erasure
        from billing import metrics, services

        on_email_verified("billing")(services.grant_signup_bonus_hook)
        on_erasure("billing")(services.detach_personal_data)
        metrics.register()
