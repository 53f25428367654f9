from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "storage"
    verbose_name = "Storage"

    def ready(self) -> None:
        from storage import hooks, metrics

        # Importing hooks registers the erasure hook with accounts.
        assert hooks.erase_user_files
        metrics.register()
