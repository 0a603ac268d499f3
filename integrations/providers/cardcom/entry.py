"""Cardcom: the catalog entry (what the hub knows before it calls; see ../README.md)."""

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
    id="cardcom",
    category="payments",
    name_he="קארדקום",
    name_en="Cardcom",
    description_he="דפי תשלום (Low Profile) של קארדקום, עם אימות תוצאת העסקה מול השרת.",
    description_en="Cardcom Low Profile payment pages, with the deal result re-checked server-side.",
    logo=logo_path("cardcom"),
    auth_kind="api_key",
    oauth=None,
    api_base_url="https://secure.cardcom.solutions/api/v11",
    test_endpoint=None,  # no lightweight read-only call is documented (VERIFY in /api/v11/Docs)
    credential_fields=(
        CredentialField(name="terminalNumber", label_he="מספר מסוף", label_en="Terminal number"),
        CredentialField(name="apiName", label_he="שם משתמש API", label_en="API name"),
        CredentialField(
            name="apiPassword",
            label_he="סיסמת API",
            label_en="API password",
            kind="password",
            required=False,
            help_en="Only some operations (e.g. refunds) need it (VERIFY).",
        ),
    ),
    rate_limit=hub_default(60, 60, "Cardcom publishes no limits"),
    webhook_scheme="none",
    entity_pairs=(
        EntityPair("payment", "LowProfile", EXPORT_ONLY),
    ),
    docs_url="https://secure.cardcom.solutions/api/v11/Docs",
    maturity="limited",
    maturity_note=(
        "Built to API v11's OpenAPI page and the API 10 knowledge base without a sandbox: "
        "LowProfile/Create (TerminalNumber, ApiName, Operation ChargeOnly, Amount, ISOCoinId, "
        "ReturnValue, WebHookUrl) and LowProfile/GetLpResult (ResponseCode 0 + TranzactionId = "
        "paid) are unconfirmed against a live terminal; the webhook is unsigned, so only its "
        "LowProfileId is read and the result is always re-queried; reports, refunds and "
        "documents (invoices) are not synced; no SDK and no published rate limit. The amount "
        "charged is read from GetLpResult's TranzactionInfo.Amount (unconfirmed); Cardcom documents "
        "no partial-payment field for LowProfile/Create, so the page always asks for the whole "
        "amount and partial payments, fees and notices are the hub's rules applied to that amount."
    ),
    notes=(
        "Credentials travel in the JSON body. Flow: LowProfile/Create (Operation, Amount, "
        "WebHookUrl, redirects, optional Document for an automatic invoice) returns a "
        "LowProfileId and URL; Cardcom then POSTs WebHookUrl unsigned, so authenticate by calling "
        "LowProfile/GetLpResult and dedupe on LowProfileId. Error 603 = bad user/password."
    ),
)
