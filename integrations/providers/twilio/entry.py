"""Twilio: the catalog entry (what the hub knows before it calls; see ../README.md)."""

from __future__ import annotations

from integrations.providers.base import (
    EXPORT_ONLY,
    CredentialField,
    EntityPair,
    Provider,
    hub_default,
    logo_path,
)

PROVIDER = Provider(
    id="twilio",
    category="communication",
    name_he="Twilio",
    name_en="Twilio",
    description_he="שליחת SMS ותזכורות ללקוחות דרך Twilio.",
    description_en="SMS reminders and notifications to clients through Twilio.",
    logo=logo_path("twilio"),
    auth_kind="api_key",
    oauth=None,
    api_base_url="https://api.twilio.com/2010-04-01",
    test_endpoint=("GET", "/Accounts/{accountSid}.json"),
    credential_fields=(
        CredentialField(name="accountSid", label_he="Account SID", label_en="Account SID"),
        CredentialField(
            name="authToken",
            label_he="Auth Token",
            label_en="Auth token",
            kind="password",
            help_en="Also the key Twilio signs webhooks with.",
        ),
    ),
    rate_limit=hub_default(
        10,
        1,
        "Twilio has an account concurrency limit without a published number and per-sender "
        "throughput by number type; 429 / error 20429 are safe to retry",
    ),
    webhook_scheme="twilio",
    entity_pairs=(
        EntityPair("meeting", "message", EXPORT_ONLY),
        EntityPair("payment", "message", EXPORT_ONLY),
    ),
    docs_url="https://www.twilio.com/docs/usage/webhooks/webhooks-security",
    maturity="limited",
    maturity_note=(
        "Messaging (issue 16): SMS by the integration's messageRules (meeting reminders a set time "
        "before startTime, messages on entity events), once per (entity, rule, occurrence, recipient); "
        "status callbacks and inbound SMS at the integration's hook URL (X-Twilio-Signature), inbound "
        "linked to the client by phone, STOP opts out. Verified: the send request equals the twilio "
        "SDK's, callbacks signed with the SDK's RequestValidator. Not verified against a live account: "
        "error codes beyond 20003/20429/21211 and WhatsApp-over-Twilio senders (not offered)."
    ),
    notes=(
        "An API key SID + secret may be used instead of the auth token for REST calls, but "
        "webhook signatures still use the auth token. X-Twilio-Signature = base64 HMAC-SHA1 over "
        "the exact URL Twilio called plus the sorted POST params (JSON bodies: bodySHA256 in the "
        "URL); behind a proxy rebuild the public URL. Message list date filters (DateSent>=) are "
        "day-granular (VERIFY filter names)."
    ),
)
