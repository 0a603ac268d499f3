from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncomingWebhooksConfig(AppConfig):
    """Incoming webhooks: public endpoint, verification, actions. Seed tables live in `webhooks`."""

    name = "webhooks.incoming"
    label = "webhooks_incoming"
    verbose_name = _("Incoming webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from webhooks.incoming import provider_sync  # noqa: F401 - registers the sync_integration automation
