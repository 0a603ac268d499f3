from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EntitiesConfig(AppConfig):
    name = "entities"
    verbose_name = _("Entities")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core import ops
        from entities import ops as entity_ops

        ops.register(sections=entity_ops.sections, metrics=entity_ops.metrics, actions=entity_ops.ACTIONS)
