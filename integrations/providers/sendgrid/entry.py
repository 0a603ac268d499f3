"""SendGrid: the catalog entry (what the hub knows before it calls; see ../README.md)."""

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
    id="sendgrid",
    category="communication",
    name_he="SendGrid",
    name_en="SendGrid",
    description_he="שליחת אימיילים תפעוליים ומעקב אחר מסירה ופתיחה.",
    description_en="Transactional email with delivery and open tracking.",
    logo=logo_path("sendgrid"),
    auth_kind="api_key",
    oauth=None,
    api_base_url="https://api.sendgrid.com",
    test_endpoint=("GET", "/v3/scopes"),
    credential_fields=(
        CredentialField(
            name="apiKey",
            label_he="מפתח API",
            label_en="API key",
            kind="password",
            help_en="Needs mail.send (+ user.webhooks.event.settings.read to fetch the signing key).",
        ),
        CredentialField(
            name="eventWebhookPublicKey",
            label_he="מפתח אימות ל-Event Webhook",
            label_en="Event Webhook verification key",
            required=False,
            help_en="Base64 public key shown when 'Signed Event Webhook' is enabled.",
        ),
    ),
    rate_limit=RateLimit(
        600,
        60,
        "SendGrid v2 endpoints: 600 req/min per user; v3 limits are per endpoint and reported in "
        "X-RateLimit-* headers (https://www.twilio.com/docs/sendgrid/api-reference/"
        "how-to-use-the-sendgrid-v3-api/rate-limits)",
    ),
    webhook_scheme="sendgrid",
    entity_pairs=(
        EntityPair("meeting", "mail", EXPORT_ONLY),
        EntityPair("payment", "mail", EXPORT_ONLY),
    ),
    docs_url="https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features",
    maturity="limited",
    maturity_note=(
        "Messaging (issue 16): email by the integration's messageRules with dynamic templates "
        "(template_id + dynamic_template_data mapped from the entity; the hub's message id as the "
        "custom arg architectStudioId); the signed Event Webhook at the integration's hook URL moves "
        "the message (processed->sent, delivered, open->read, bounce/dropped->failed) and "
        "unsubscribe/spamreport opt the address out. Verified: the body equals the sendgrid SDK's Mail."
    ),
    notes=(
        "Not verified against a live account: the template list (dynamic templates are not fetched; the "
        "tenant types the d-... id) and error bodies beyond the documented errors[] shape. "
        "No event listing API (Email Activity is a paid add-on): store Event Webhook batches. "
        "Signature: ECDSA P-256/SHA-256 over timestamp + raw body (which ends in CRLF); SendGrid "
        "states no tolerance, the hub uses 300 s."
    ),
)
