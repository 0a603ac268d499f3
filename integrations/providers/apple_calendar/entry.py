"""Apple Calendar (iCloud): the catalog entry (what the hub knows before it calls; see ../README.md)."""

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
    id="apple_calendar",
    category="calendar",
    name_he="יומן Apple (iCloud)",
    name_en="Apple Calendar (iCloud)",
    description_he="סנכרון פגישות מול יומן iCloud דרך CalDAV, עם סיסמה ייעודית לאפליקציה.",
    description_en="Meeting sync with iCloud Calendar over CalDAV, using an app-specific password.",
    logo=logo_path("apple_calendar"),
    auth_kind="caldav",
    oauth=None,
    api_base_url="https://caldav.icloud.com",
    # PROPFIND current-user-principal; iCloud redirects to the account's pNN-caldav host.
    test_endpoint=("PROPFIND", "/"),
    credential_fields=(
        CredentialField(
            name="username",
            label_he="Apple ID (אימייל)",
            label_en="Apple ID (email)",
        ),
        CredentialField(
            name="appPassword",
            label_he="סיסמה ייעודית לאפליקציה",
            label_en="App-specific password",
            kind="password",
            help_en="Created at account.apple.com (needs two-factor authentication); "
            "all are revoked when the Apple ID password changes.",
        ),
        CredentialField(
            name="serverUrl",
            label_he="כתובת שרת CalDAV",
            label_en="CalDAV server URL",
            kind="url",
            required=False,
            default="https://caldav.icloud.com",
        ),
    ),
    rate_limit=hub_default(60, 60, "Apple publishes no CalDAV limit; back off on 429/503"),
    webhook_scheme=None,
    entity_pairs=(
        EntityPair("meeting", "VEVENT", ALL_DIRECTIONS),
        EntityPair("task", "VEVENT", EXPORT_ONLY),
    ),
    docs_url="https://support.apple.com/en-us/102654",
    maturity="stable",
    maturity_note=(
        "CalDAV is a standard protocol and works with iCloud, but Apple documents no developer "
        "API for it; the iCloud quirks we rely on come from community projects."
    ),
    notes=(
        "No push: poll with REPORT sync-collection (RFC 6578 sync-token), fall back to getctag + "
        "ETags; an invalid sync-token (403/409) means full resync. iCloud REPORTs need a VEVENT "
        "filter. Apple's support page mentions that supported apps may sign in with the Apple "
        "Account instead of an app password; no public developer program for it was found (VERIFY)."
    ),
)
