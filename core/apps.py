from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from core import db

        post_migrate.connect(db.grant_runtime_role, dispatch_uid="core.grant_runtime_role")
