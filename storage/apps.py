from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "storage"
    verbose_name = "Storage"

    def ready(self) -> None:
        from accounts.hooks import on_erasure
        from storage import metrics, services

        # Erasure: the user's files are soft-deleted and their objects removed after commit.
        on_erasure("storage")(services.soft_delete_user_files)
        metrics.register()
