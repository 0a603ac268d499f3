"""Hashavshevet: the catalog entry (what the hub knows before it calls; see ../README.md)."""

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
    id="hashavshevet",
    category="accounting",
    name_he="חשבשבת",
    name_en="Hashavshevet",
    description_he="העברת לקוחות, ספקים, חשבוניות וקבלות לחשבשבת (WizCloud).",
    description_en="Push clients, suppliers, invoices and receipts to Hashavshevet (WizCloud).",
    logo=logo_path("hashavshevet"),
    auth_kind="api_key",
    oauth=None,
    api_base_url="https://{wizcloudServer}",
    # Returns a wizAuthToken (24 h) that later calls send in the Authorization header.
    # The private key is part of the path, so this URL must be redacted in logs.
    test_endpoint=("GET", "/createSession/{privateKey}/{dbName}"),
    credential_fields=(
        CredentialField(
            name="wizcloudServer",
            label_he="שרת WizCloud",
            label_en="WizCloud server",
            help_en="Host name given by Wizsoft, e.g. lb1.wizcloud.co.il",
        ),
        CredentialField(
            name="privateKey",
            label_he="מפתח API פרטי",
            label_en="API private key",
            kind="password",
            help_en="Per-user key issued by the company administrator in WizCloud.",
        ),
        CredentialField(
            name="dbName",
            label_he="קוד מסד הנתונים (חברה)",
            label_en="Database (company) code",
        ),
    ),
    rate_limit=hub_default(30, 60, "Wizsoft publishes no limits"),
    webhook_scheme=None,
    entity_pairs=(
        EntityPair("client", "account", EXPORT_ONLY),
        EntityPair("supplier", "account", EXPORT_ONLY),
        EntityPair("payment", "document", EXPORT_ONLY),
        EntityPair("expense", "document", EXPORT_ONLY),
    ),
    docs_url="https://docs.wizcloud.co.il/docs/getting-started",
    maturity="limited",
    maturity_note=(
        "Only WizCloud (Wizsoft's cloud Hashavshevet) has a public REST API: session token, "
        "create/issue documents, receipts, index (account/item) import. The on-premise product's "
        "H-Connect API needs a contract with Wizsoft and is not publicly documented; legacy file "
        "import and ODBC reads are out of scope. No webhooks, no change feed, no published "
        "limits, so the connector is push-only (hub to Hashavshevet) and incremental import is a "
        "no-op. Built to the documented calls: createSession, IndexApi/importIndex (accounts) and "
        "invApi/createDoc (documents). Unverified: the answers' shapes (session token form, the "
        "created document's id), each company's document type ids (settings.documentTypes), "
        "any limit. Issued documents are never changed or deleted (credit them in Hashavshevet); "
        "accounts are never deleted (no documented call). A payment's status is not imported "
        "from Hashavshevet (no documented read of a document's balance; push-only)."
    ),
    notes=(
        "Calls are POST https://{wizcloudServer}/{apiPath} with the session token, e.g. "
        "invApi/createDoc, invApi/issueDocument, IndexApi/importIndex, docsApi/v2/createReceipt."
    ),
)
