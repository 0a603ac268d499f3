"""Custom webhook: the catalog entry (what the hub knows before it calls; see ../README.md)."""

from __future__ import annotations

from integrations.providers.base import (
    IMPORT_ONLY,
    LOCAL_ENTITY_TYPES,
    EntityPair,
    Provider,
    hub_default,
    logo_path,
)

PROVIDER = Provider(
    id="custom_webhook",
    category="webhooks",
    name_he="Webhook מותאם אישית",
    name_en="Custom webhook",
    description_he="כתובת ייעודית שמקבלת אירועים מכל מערכת ויוצרת או מעדכנת ישויות.",
    description_en="A dedicated URL that receives events from any system and creates or updates entities.",
    logo=logo_path("custom_webhook"),
    auth_kind="webhook",
    oauth=None,
    api_base_url="",
    test_endpoint=None,
    credential_fields=(),  # the hub generates the URL and the secret
    rate_limit=hub_default(60, 60, "processing budget for actions triggered by incoming events"),
    # X-Webhook-Signature (hex HMAC-SHA256); Standard Webhooks headers are accepted too (C6).
    webhook_scheme="hmac",
    entity_pairs=tuple(EntityPair(t, "payload", IMPORT_ONLY) for t in LOCAL_ENTITY_TYPES),
    docs_url="",
    maturity="stable",
    notes="Backed by IncomingWebhook rows: /api/webhooks/tenant/{tenantId}/{webhookId}.",
)
