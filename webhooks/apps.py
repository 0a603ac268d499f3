from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured
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

        check_verifiers()


def check_verifiers() -> None:
    """The provider catalog names the schemes providers sign with (a list of names,
    kept in integrations, which sits below webhooks); each needs a verifier here, and
    each verifier a name there. Fails the start otherwise."""
    from integrations.providers import base
    from webhooks.verification import SCHEMES

    difference = sorted(set(base.WEBHOOK_SCHEMES) ^ set(SCHEMES))
    if difference:
        raise ImproperlyConfigured(
            f"integrations.providers.base.WEBHOOK_SCHEMES and webhooks.verification.VERIFIERS differ: {difference}"
        )
