from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.crypto import register_encrypted_field, register_sealed_value_field

        register_encrypted_field("webhooks.IncomingWebhook", "secret")
        register_encrypted_field("webhooks.IncomingWebhook", "previous_secret")
        register_encrypted_field("webhooks.OutgoingWebhook", "signature_secret")
        register_encrypted_field("webhooks.OutgoingWebhook", "previous_signature_secret")
        register_sealed_value_field("webhooks.OutgoingWebhook", "headers")
        register_sealed_value_field("webhooks.IncomingWebhook", "verification_config")
        register_sealed_value_field("webhooks.IncomingWebhook", "actions")
        register_sealed_value_field("webhooks.IncomingWebhook", "filters")
