from django.apps import AppConfig


class OutgoingWebhooksConfig(AppConfig):
    """Outgoing webhooks: triggers, deliveries, retries. Seed tables live in `webhooks`."""

    name = "webhooks.outgoing"
    label = "webhooks_outgoing"
    verbose_name = "Outgoing webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from webhooks.outgoing import subscribers

        subscribers.register()  # the entity-event subscriber: outgoing deliveries for each committed event
