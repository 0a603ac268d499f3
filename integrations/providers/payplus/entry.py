"""PayPlus: the catalog entry (what the hub knows before it calls; see ../README.md)."""

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
    id="payplus",
    category="payments",
    name_he="PayPlus",
    name_en="PayPlus",
    description_he="דפי תשלום וסליקה דרך PayPlus, ועדכון סטטוס התשלום אוטומטית.",
    description_en="Payment pages and card processing with PayPlus, with automatic status updates.",
    logo=logo_path("payplus"),
    auth_kind="api_key",
    oauth=None,
    # Sandbox: https://restapidev.payplus.co.il/api/v1.0 (set_provider_app --api-base-url).
    api_base_url="https://restapi.payplus.co.il/api/v1.0",
    # No dedicated "who am I" call is documented; a narrow report query is the cheapest check (VERIFY).
    test_endpoint=("POST", "/TransactionReports/TransactionsHistory"),
    credential_fields=(
        CredentialField(name="apiKey", label_he="מפתח API", label_en="API key", kind="password"),
        CredentialField(
            name="secretKey",
            label_he="מפתח סודי",
            label_en="Secret key",
            kind="password",
            help_en="Also the key PayPlus signs callbacks with.",
        ),
        CredentialField(
            name="terminalUid",
            label_he="מזהה מסוף",
            label_en="Terminal UID",
            required=False,
        ),
        CredentialField(
            name="paymentPageUid",
            label_he="מזהה דף תשלום",
            label_en="Payment page UID",
            required=False,
            help_en="Needed to generate payment links.",
        ),
    ),
    rate_limit=hub_default(60, 60, "PayPlus publishes no limits"),
    # The 'hash' header is base64 HMAC-SHA256(secretKey, body), with 'user-agent: PayPlus'.
    webhook_scheme="payplus",
    entity_pairs=(
        EntityPair("payment", "payment_page", EXPORT_ONLY),
    ),
    docs_url="https://docs.payplus.co.il/reference/introduction",
    maturity="limited",
    maturity_note=(
        "Built from PayPlus' public ReadMe docs without a sandbox: the payment-page request and "
        "answer (PaymentPages/generateLink) follow the reference page; the callback's field names "
        "(transaction.payment_page_request_uid, status_code '000' = approved, transaction_type "
        "'Refund') follow PayPlus' IPN description and public integrations, unconfirmed; no change "
        "feed (results arrive only as callbacks; a missed callback is not reconciled from "
        "TransactionReports); a page cannot be changed or cancelled through the hub; no official "
        "SDK and no published rate limit. The amount charged is read from transaction.amount "
        "(unconfirmed); PayPlus documents no partial-payment field for a page, so the page always "
        "asks for the whole amount and partial payments, fees and notices are the hub's rules "
        "applied to that amount."
    ),
    notes=(
        'Authorization header carries JSON {"api_key": ..., "secret_key": ...}. A payment is '
        "exported as a payment page (generateLink); its link is written to the payment "
        "(paymentUrl). Callbacks go to refURL_callback = the integration's webhook URL; the hash "
        "is verified over the raw body first, then over compact re-serialised JSON "
        "(ensure_ascii=False), and the result is applied to the linked payment only."
    ),
)
