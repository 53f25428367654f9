from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "storage"
    verbose_name = "Storage"

    def ready(self) -> None:
        from storage import hooks, metrics  # noqa: F401  (hooks registers with accounts)

        metrics.register()
