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

        from core import ops
        from webhooks import ops as webhook_ops

        ops.register(sections=webhook_ops.sections, metrics=webhook_ops.metrics, actions=webhook_ops.ACTIONS)



def unknown_schemes(providers) -> list[str]:
    """The webhook schemes ``providers`` name that have no verifier here."""
    from webhooks.verification import VERIFIERS

    return sorted({p.webhook_scheme for p in providers if p.webhook_scheme} - set(VERIFIERS))


def check_verifiers() -> None:
    """Every scheme the provider catalog names needs a verifier in the registry of
    :mod:`webhooks.verification` (a provider's own scheme is collected from its folder,
    the generic ones are webhooks'): a provider naming ``hmac``/``standard``/``none`` or
    a scheme its folder does not export is only caught here, since integrations sits
    below webhooks. Fails the start otherwise."""
    from integrations.providers.catalog import PROVIDERS

    unknown = unknown_schemes(PROVIDERS.values())
    if unknown:
        raise ImproperlyConfigured(f"providers name webhook schemes without a verifier: {unknown}")
