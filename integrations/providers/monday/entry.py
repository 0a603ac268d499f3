"""monday.com: the catalog entry (what the hub knows before it calls; see ../README.md)."""

from __future__ import annotations

from integrations.providers.base import (
    ALL_DIRECTIONS,
    EntityPair,
    OAuthConfig,
    Provider,
    hub_default,
    logo_path,
)

PROVIDER = Provider(
    id="monday",
    category="crm",
    name_he="monday.com",
    name_en="monday.com",
    description_he="סנכרון משימות מול לוחות monday.com.",
    description_en="Sync tasks with monday.com boards.",
    logo=logo_path("monday"),
    auth_kind="oauth2",
    oauth=OAuthConfig(
        authorization_url="https://auth.monday.com/oauth2/authorize",
        token_url="https://auth.monday.com/oauth2/token",
        revoke_url=None,
        default_scopes=("me:read", "boards:read", "boards:write", "webhooks:write"),
        scope_separator=" ",
        pkce=False,
        extra_authorize_params={},
        token_auth_method="client_secret_post",
        refresh_rotates=False,
        notes=(
            "Legacy flow: the access token never expires and there is no refresh token; an account "
            "admin must install the app. An opt-in OAuth 2.1 flow with PKCE and refresh tokens "
            "exists (VERIFY)."
        ),
    ),
    api_base_url="https://api.monday.com",
    # GraphQL: POST /v2 with {"query": "{ me { id } }"} and an API-Version header.
    test_endpoint=("POST", "/v2"),
    credential_fields=(),
    rate_limit=hub_default(
        60,
        60,
        "monday meters complexity points (5M/min per app token) and daily call caps by plan "
        "(Free 200, Basic/Standard 1,000, Pro 10,000)",
    ),
    webhook_scheme="monday_jwt",
    entity_pairs=(EntityPair("task", "item", ALL_DIRECTIONS),),
    docs_url="https://developer.monday.com/api-reference/docs/rate-limits",
    maturity="limited",
    maturity_note=(
        "Board items <-> tasks (both ways, scheduled) are built to the GraphQL API v2 reference "
        "(items_page, next_items_page, create_item, change_multiple_column_values, delete_item, "
        "complexity) and tested against a fake answering those query shapes, never against "
        "monday.com itself (no official Python SDK). The board, its status / due-date / text "
        "column ids and the status labels are chosen in settings; title, status (by label) and "
        "description are mapped; the due date is read (hub_due) but not mapped by default. "
        "Unverified or partial: the __last_updated__ rule with compare_value EXACT and "
        "greater_than (VERIFY; the feed re-reads from the day before the newest change); items "
        "deleted or archived at monday.com are not removed here; whether a 429 "
        "COMPLEXITY_BUDGET_EXHAUSTED answer carries Retry-After (VERIFY: without it the hub backs "
        "off on its own); the budget wait is learnt per worker process. Board webhooks wake an "
        "incremental run: the challenge is echoed, the URL carries the integration's secret, and "
        "with an app signing secret configured (MONDAY_APP_SIGNING_SECRET) the JWT is checked too. "
        "Unverified: whether webhooks created with the hub's token carry a JWT (VERIFY), and the "
        "event payloads beyond the reference's examples."
    ),
    notes=(
        "Incremental sync: items_page filtered on last-updated (column id VERIFY) with cursor "
        "paging (500 items, cursor valid 60 min), or activity_logs. Webhooks: first POST "
        '{"challenge"} must be echoed; app requests carry an HS256 JWT in Authorization signed '
        "with the app's signing secret (check aud = endpoint URL and exp); webhooks made with a "
        "personal token may carry none (VERIFY), so also use a secret URL."
    ),
)
