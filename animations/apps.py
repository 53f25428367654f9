from django.apps import AppConfig


class AnimationsConfig(AppConfig):
    name = "animations"
    verbose_name = "Animations"

    def ready(self) -> None:
        from accounts.hooks import on_erasure
        from animations import metrics, services
        from billing.services import register_reservation_check
        from storage.hooks import file_references

        on_erasure("animations")(services.cancel_for_erasure)
        register_reservation_check("animations", services.reservations_match_tasks)
        file_references("animations")(services.referenced_file_ids)
        metrics.register()
