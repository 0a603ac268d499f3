"""Stripe: the catalog entry (what the hub knows before it calls; see ../README.md)."""

from __future__ import annotations

from integrations.providers.base import (
    ALL_DIRECTIONS,
    IMPORT_ONLY,
    CredentialField,
    EntityPair,
    OAuthConfig,
    Provider,
    RateLimit,
    logo_path,
)

PROVIDER = Provider(
    id="stripe",
    category="payments",
    name_he="Stripe",
    name_en="Stripe",
    description_he="עדכון אוטומטי של סטטוס תשלומים ולקוחות מ-Stripe.",
    description_en="Automatic payment status and customer updates from Stripe.",
    logo=logo_path("stripe"),
    auth_kind="api_key",
    # Optional alternative: Stripe Connect OAuth for Standard accounts.
    oauth=OAuthConfig(
        authorization_url="https://connect.stripe.com/oauth/authorize",
        token_url="https://connect.stripe.com/oauth/token",
        revoke_url="https://connect.stripe.com/oauth/deauthorize",
        default_scopes=("read_write",),
        scope_separator=" ",
        pkce=False,
        extra_authorize_params={},
        token_auth_method="client_secret_post",
        refresh_rotates=False,
        notes=(
            "Connect OAuth: the client id is the platform's ca_... id and the 'client secret' is "
            "the platform's secret API key; the access token does not expire. Stripe now steers "
            "new platforms towards Connect onboarding instead of OAuth (VERIFY)."
        ),
    ),
    api_base_url="https://api.stripe.com",
    # A restricted key may lack account read permission; /v1/balance is the fallback.
    test_endpoint=("GET", "/v1/account"),
    credential_fields=(
        CredentialField(
            name="apiKey",
            label_he="מפתח API סודי",
            label_en="Secret API key",
            kind="password",
            help_en="sk_... or a restricted rk_... key.",
        ),
        CredentialField(
            name="webhookSecret",
            label_he="סוד חתימת Webhook",
            label_en="Webhook signing secret",
            kind="password",
            required=False,
            help_en="whsec_... of the endpoint that points at the hub.",
        ),
    ),
    rate_limit=RateLimit(
        100,
        1,
        "seed PROVIDER_RATE_LIMITS; matches Stripe's global live-mode limit (sandbox 25/s, most "
        "endpoints 25/s): https://docs.stripe.com/rate-limits",
    ),
    webhook_scheme="stripe",
    entity_pairs=(
        EntityPair("payment", "payment_intent", IMPORT_ONLY),
        EntityPair("client", "customer", ALL_DIRECTIONS),
    ),
    docs_url="https://docs.stripe.com/webhooks",
    maturity="stable",
    notes=(
        "Sync: a full listing of /v1/payment_intents (expand latest_charge) and /v1/customers, then "
        "/v1/events?created[gte]=... with starting_after paging; each event's object is read again, "
        "so an event seen twice changes nothing. Events are kept 30 days: an older cursor means a "
        "full listing. Amounts are minor units converted per currency exponent (zero- and "
        "three-decimal currencies). Charges made without a PaymentIntent (legacy Charges API) are "
        "not imported. Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(whsec, '{t}.{body}')>, any "
        "v1 may match, 300 s tolerance; a verified event wakes an incremental run. Idempotency-Key "
        "on customer creates."
    ),
)
