"""WhatsApp Business: the catalog entry (what the hub knows before it calls; see ../README.md)."""

from __future__ import annotations

from integrations.providers.base import (
    EXPORT_ONLY,
    CredentialField,
    EntityPair,
    Provider,
    RateLimit,
    logo_path,
)

PROVIDER = Provider(
    id="whatsapp_business",
    category="communication",
    name_he="WhatsApp Business",
    name_en="WhatsApp Business",
    description_he="תזכורות לתשלומים ולפגישות בתבניות מאושרות, ותיעוד הודעות נכנסות.",
    description_en="Payment and meeting reminders with approved templates; incoming messages logged.",
    logo=logo_path("whatsapp_business"),
    auth_kind="api_key",
    oauth=None,
    # Graph versions expire about two years after release; bump with --api-base-url (VERIFY version).
    api_base_url="https://graph.facebook.com/v23.0",
    test_endpoint=("GET", "/{phoneNumberId}"),
    credential_fields=(
        CredentialField(
            name="accessToken",
            label_he="אסימון גישה (System User)",
            label_en="Access token (system user)",
            kind="password",
        ),
        CredentialField(name="phoneNumberId", label_he="מזהה מספר טלפון", label_en="Phone number ID"),
        CredentialField(
            name="businessAccountId",
            label_he="מזהה חשבון WhatsApp Business",
            label_en="WhatsApp Business account ID",
        ),
        CredentialField(
            name="appSecret",
            label_he="סוד האפליקציה ב-Meta",
            label_en="Meta app secret",
            kind="password",
            required=False,
            help_en="Verifies X-Hub-Signature-256 on incoming webhooks.",
        ),
        CredentialField(
            name="verifyToken",
            label_he="אסימון אימות ל-Webhook",
            label_en="Webhook verify token",
            kind="password",
            required=False,
            help_en="The same text as 'Verify token' in the Meta app's webhook settings (hub.challenge check).",
        ),
    ),
    rate_limit=RateLimit(
        80,
        1,
        "Cloud API throughput: 80 messages/s per business phone number (plus a daily unique-user "
        "messaging limit per portfolio): "
        "https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput",
    ),
    webhook_scheme="meta",
    entity_pairs=(
        EntityPair("payment", "template_message", EXPORT_ONLY),
        EntityPair("meeting", "template_message", EXPORT_ONLY),
    ),
    docs_url="https://developers.facebook.com/documentation/business-messaging/whatsapp/",
    maturity="experimental",
    maturity_note=(
        "Messaging (issue 16): approved template messages by the integration's messageRules (body "
        "parameters mapped from the entity, e.g. a meeting reminder a set time before startTime); "
        "statuses and inbound messages by webhook at the integration's hook URL (X-Hub-Signature-256 "
        "with the app secret, hub.challenge with the verify token), inbound linked to the client by "
        "phone. Not verified against Meta (no official Python SDK): request and webhook shapes follow "
        "the Cloud API reference and payload examples; which HTTP status carries throughput errors "
        "(130429/131056 are treated as retry whatever the status); the template list is read "
        "(message_templates) but not yet offered on the settings page; header/button template "
        "components are not sent (body parameters only)."
    ),
    notes=(
        "Credentials follow the seed's WhatsAppConfig (phoneNumberId, businessAccountId, "
        "accessToken). Onboarding tenants as a Tech Provider through Embedded Signup v4 (exchange "
        "code at graph.facebook.com/{version}/oauth/access_token) is not wired (v2 ends "
        "2026-10-15). No message history API: everything inbound arrives by webhook (GET "
        "hub.challenge handshake, X-Hub-Signature-256 = sha256=hex HMAC(app secret, raw body))."
    ),
)
