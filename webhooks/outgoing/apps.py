from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutgoingWebhooksConfig(AppConfig):
    """Outgoing webhooks: triggers, deliveries, retries. Seed tables live in `webhooks`."""

    name = "webhooks.outgoing"
    label = "webhooks_outgoing"
    verbose_name = _("Outgoing webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from webhooks.outgoing import subscribers

        subscribers.register()  # the entity-event subscriber: outgoing deliveries for each committed event
