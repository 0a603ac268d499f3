"""Priority ERP: the catalog entry (what the hub knows before it calls; see ../README.md)."""

from __future__ import annotations

from integrations.providers.base import (
    ALL_DIRECTIONS,
    EXPORT_ONLY,
    CredentialField,
    EntityPair,
    Provider,
    hub_default,
    logo_path,
)

PROVIDER = Provider(
    id="priority",
    category="accounting",
    name_he="פריוריטי",
    name_en="Priority ERP",
    description_he="לקוחות, ספקים ומסמכים מול Priority ERP דרך ממשק ה-REST (OData).",
    description_en="Customers, suppliers and documents with Priority ERP through its REST (OData) API.",
    logo=logo_path("priority"),
    auth_kind="api_key",
    oauth=None,
    api_base_url="{serverUrl}/odata/Priority/{tabulaIni}/{company}",
    test_endpoint=("GET", "/CUSTOMERS?$top=1"),
    credential_fields=(
        CredentialField(
            name="serverUrl",
            label_he="כתובת השרת",
            label_en="Server URL",
            kind="url",
            help_en="The customer's Priority host, e.g. https://priority.example.co.il",
        ),
        CredentialField(
            name="tabulaIni",
            label_he="קובץ tabula.ini",
            label_en="tabula.ini name",
            default="tabula.ini",
            help_en="Append ',<language code>' to pick the response language.",
        ),
        CredentialField(name="company", label_he="חברה", label_en="Company"),
        CredentialField(
            name="username",
            label_he="משתמש API",
            label_en="API user",
            help_en="API user name, or a personal access token (Priority 19.1+).",
        ),
        CredentialField(
            name="password",
            label_he="סיסמה",
            label_en="Password",
            kind="password",
            help_en="The user's password, or the literal 'PAT' when the user name is a token.",
        ),
        CredentialField(
            name="appId",
            label_he="App ID",
            label_en="App ID",
            required=False,
            help_en="Only when the installation licenses per application (X-App-Id).",
        ),
        CredentialField(
            name="appKey",
            label_he="App Key",
            label_en="App key",
            kind="password",
            required=False,
            help_en="Sent as X-App-Key together with X-App-Id.",
        ),
    ),
    rate_limit=hub_default(
        60, 60, "Priority documents no rate limit (rows capped by MAXFORMLINES, 350 MB responses)"
    ),
    webhook_scheme="none",
    entity_pairs=(
        EntityPair("client", "CUSTOMERS", ALL_DIRECTIONS),
        EntityPair("supplier", "SUPPLIERS", ALL_DIRECTIONS),  # form name VERIFY per installation
        EntityPair("payment", "AINVOICES", EXPORT_ONLY),  # form name VERIFY per installation
    ),
    docs_url="https://prioritysoftware.github.io/restapi/",
    maturity="limited",
    maturity_note=(
        "The REST API is documented publicly, but every customer runs its own instance, version "
        "and licences (REST API, Webhooks and External ID modules), with no published rate limits "
        "and forms that vary by installation; only Basic/PAT auth is wired. OAuth (auth-code + "
        "PKCE, scope 'openid rest_api' at {serverUrl}/accounts/connect/...) exists only with the "
        "External ID module, which also disables Basic. Sync: customers and suppliers both ways "
        "(code AS+8 hex digits for records the hub creates), sales invoices export only. "
        "Unverified: the UDATE column on each installation's forms (else full listings only), "
        "the AINVOICES line subform (AINVOICEITEMS_SUBFORM, PARTNAME/TQUANT/PRICE) and invoice "
        "currency, any rate limit; a payment's status is not imported (invoices are export only and "
        "no balance field of AINVOICES is documented for every installation); no deletion feed (removals are found by a full sync). BPM "
        "webhooks (v20.1+, Webhooks module) wake an incremental run: the rule calls the "
        "integration's webhookUrl, whose ?secret= (or the same value as the rule's "
        "priority-bpm-token) is the only check, as Priority signs nothing; the body is not read. "
        "Unverified: the BPM webhook's exact request (method, body, whether the URL's query "
        "survives) was built from the documented headers only, with no Priority instance to call it."
    ),
    notes=(
        "Incremental sync: $since=<ISO datetime> (v20.0+, BPM entities only), otherwise $filter="
        "UDATE ge <datetime> (URL-encode '+'); page with $top/$skip. Webhooks come from BPM rules "
        "(v20.1+, Webhooks module) and are unsigned: compare the static 'priority-bpm-token' "
        "header in constant time and re-read the record."
    ),
)
