"""Google Calendar: the catalog entry (what the hub knows before it calls; see ../README.md)."""

from __future__ import annotations

from integrations.providers import _google
from integrations.providers.base import (
    ALL_DIRECTIONS,
    EXPORT_ONLY,
    EntityPair,
    Provider,
    RateLimit,
    logo_path,
)

PROVIDER = Provider(
    id="google_calendar",
    category="calendar",
    name_he="יומן Google",
    name_en="Google Calendar",
    description_he="סנכרון דו-כיווני של פגישות, ויעדי משימות כאירועים, מול יומני Google.",
    description_en="Two-way sync of meetings, and task due dates as events, with Google Calendar.",
    logo=logo_path("google_calendar"),
    auth_kind="oauth2",
    # calendar.readonly is there only so the tenant can pick calendars
    # (calendarList, as the seed's settings need); events are written via calendar.events.
    oauth=_google.oauth(
        "https://www.googleapis.com/auth/calendar.events",
        "https://www.googleapis.com/auth/calendar.readonly",
    ),
    api_base_url=_google.API_BASE_URL,
    test_endpoint=("GET", "/calendar/v3/users/me/calendarList?maxResults=1"),
    credential_fields=(),
    rate_limit=RateLimit(
        100,
        60,
        "seed PROVIDER_RATE_LIMITS (Google publishes 600 req/min per user and 10,000 req/min per "
        "project: https://developers.google.com/workspace/calendar/api/guides/quota)",
    ),
    webhook_scheme="google_channel_token",
    entity_pairs=(
        EntityPair("meeting", "event", ALL_DIRECTIONS),
        EntityPair("task", "event", EXPORT_ONLY),
    ),
    docs_url="https://developers.google.com/calendar/api/guides/sync",
    maturity="stable",
    notes=(
        "Incremental sync: events.list with syncToken (nextSyncToken is on the last page only; "
        "deletions arrive as status=cancelled). 410 Gone means the token is invalid: full resync "
        "and diff. Push channels (events.watch) are unsigned: compare X-Goog-Channel-Token, treat "
        "the notification as a trigger, renew before X-Goog-Channel-Expiration. Quota model "
        "changed for Cloud projects created on/after 2026-05-01."
    ),
)
