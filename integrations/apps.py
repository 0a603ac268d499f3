from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.crypto import register_encrypted_field
        from entities.events import subscribe
        from integrations.selectors import tenant_has_connected_integrations
        from integrations.sync.exporter import on_entity_events

        register_encrypted_field("integrations.Integration", "oauth_encrypted")
        register_encrypted_field("integrations.Integration", "api_key_encrypted")
        register_encrypted_field("integrations.Integration", "webhook_secret")
        register_encrypted_field("integrations.ProviderApp", "client_secret_encrypted")
        register_encrypted_field("integrations.OAuthState", "code_verifier_encrypted")
        register_encrypted_field("integrations.PushChannel", "token_encrypted")
        # Local changes -> the export queue, in the outbox drain's transaction (issue 11).
        # Both subscribers need a connected integration: a tenant without one costs the
        # drain a single shared existence query per batch, not a query and a savepoint each.
        subscribe("sync_export", lambda event: on_entity_events([event]), batch=on_entity_events,
                  only_for=tenant_has_connected_integrations)
        # Local changes -> the messages the messaging rules owe (issue 16).
        from integrations.messaging.rules import on_entity_events as on_messaging_events

        subscribe("messaging_rules", lambda event: on_messaging_events([event]), batch=on_messaging_events,
                  only_for=tenant_has_connected_integrations)
        # ... which the sync engine sends as exports of `message` records, telling their owner how it went.
        from integrations.messaging.outcomes import MessageExports
        from integrations.sync.owners import register as register_owner

        register_owner("message", MessageExports())

        from core import ops
        from integrations import ops as integration_ops

        ops.register(sections=integration_ops.sections, metrics=integration_ops.metrics, actions=integration_ops.ACTIONS)
