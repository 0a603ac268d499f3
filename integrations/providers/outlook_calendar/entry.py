"""Outlook Calendar: the catalog entry (what the hub knows before it calls; see ../README.md)."""

from __future__ import annotations

from integrations.providers import _microsoft
from integrations.providers.base import (
    ALL_DIRECTIONS,
    EXPORT_ONLY,
    EntityPair,
    Provider,
    RateLimit,
    logo_path,
)

PROVIDER = Provider(
    id="outlook_calendar",
    category="calendar",
    name_he="יומן Outlook",
    name_en="Outlook Calendar",
    description_he="סנכרון דו-כיווני של פגישות מול יומן Outlook / Microsoft 365.",
    description_en="Two-way sync of meetings with Outlook / Microsoft 365 calendars.",
    logo=logo_path("outlook_calendar"),
    auth_kind="oauth2",
    oauth=_microsoft.oauth("offline_access", "User.Read", "Calendars.ReadWrite"),
    api_base_url=_microsoft.GRAPH_API,
    test_endpoint=("GET", "/me"),
    credential_fields=(),
    rate_limit=RateLimit(
        10_000,
        600,
        "Microsoft Graph Outlook limit: 10,000 requests per 10 min per app per mailbox, max 4 "
        "concurrent (https://learn.microsoft.com/graph/throttling-limits)",
    ),
    webhook_scheme="graph",
    entity_pairs=(
        EntityPair("meeting", "event", ALL_DIRECTIONS),
        EntityPair("task", "event", EXPORT_ONLY),
    ),
    docs_url="https://learn.microsoft.com/graph/delta-query-events",
    maturity="stable",
    notes=(
        "Incremental sync: /me/calendarView/delta (window fixed by the first call); store the "
        "@odata.deltaLink; 410 means restart. Change notifications: answer the validationToken "
        "POST with text/plain within 10 s, compare clientState on every item; event subscriptions "
        "expire after ~3 days (newer docs say up to 7 days - VERIFY) and must be renewed."
    ),
)
