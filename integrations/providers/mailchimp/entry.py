"""Mailchimp: the catalog entry (what the hub knows before it calls; see ../README.md)."""

from __future__ import annotations

from integrations.providers.base import (
    ALL_DIRECTIONS,
    CredentialField,
    EntityPair,
    OAuthConfig,
    Provider,
    hub_default,
    logo_path,
)

PROVIDER = Provider(
    id="mailchimp",
    category="communication",
    name_he="Mailchimp",
    name_en="Mailchimp",
    description_he="סנכרון לקוחות לרשימת תפוצה (Audience) ב-Mailchimp.",
    description_en="Sync clients with a Mailchimp audience.",
    logo=logo_path("mailchimp"),
    auth_kind="api_key",
    # Optional alternative to an API key.
    oauth=OAuthConfig(
        authorization_url="https://login.mailchimp.com/oauth2/authorize",
        token_url="https://login.mailchimp.com/oauth2/token",
        revoke_url=None,
        default_scopes=(),
        scope_separator=" ",
        pkce=False,
        extra_authorize_params={},
        token_auth_method="client_secret_post",
        refresh_rotates=False,
        notes=(
            "No scopes and no refresh token; the access token does not expire. After the exchange "
            "GET https://login.mailchimp.com/oauth2/metadata gives 'dc' for the API host. "
            "Disconnecting happens on the user's side."
        ),
    ),
    api_base_url="https://{dc}.api.mailchimp.com/3.0",
    test_endpoint=("GET", "/ping"),
    credential_fields=(
        CredentialField(
            name="apiKey",
            label_he="מפתח API",
            label_en="API key",
            kind="password",
            help_en="Ends with '-usNN': that suffix is the datacenter ({dc}) of the API host.",
        ),
    ),
    rate_limit=hub_default(
        10,
        1,
        "Mailchimp caps a key at 10 simultaneous connections and publishes no request rate",
    ),
    webhook_scheme="none",
    entity_pairs=(EntityPair("client", "list_member", ALL_DIRECTIONS),),
    docs_url="https://mailchimp.com/developer/marketing/docs/fundamentals/",
    maturity="limited",
    maturity_note=(
        "Audience members <-> clients (both ways, scheduled) are built to the Marketing API 3.0 "
        "list-members reference and tested against a fake shaped as its pages, never against "
        "Mailchimp itself; Mailchimp's SDK (mailchimp-marketing 3.0.80) is pointed at the fake "
        "and makes the adapter's calls (paths, methods, query names and bodies the same, the "
        "same answers), but it ships no response models, so answer shapes rest on the pages. "
        "The audience is "
        "chosen in settings (audienceId); name, email and PHONE merge fields are mapped (the "
        "ADDRESS merge field, an object, is not). Unsubscribed or cleaned members set the "
        "client's email opt-out; an export never sends 'subscribed' (new members get "
        "newMemberStatus, 'pending' = double opt-in, by default); an opt-out made here "
        "unsubscribes the member. Unverified or partial: since_last_changed is read as 'at or "
        "after' (members of the newest second are read again, harmlessly); offset paging can "
        "skip a member changed during a long listing until the next run; a client's email "
        "changed here moves the member to a new subscriber hash that the link does not follow "
        "(VERIFY); archived members are not removed here. List webhooks (subscribe, unsubscribe, profile, "
        "upemail, cleaned) wake an incremental run; they are unsigned, so the URL carries the "
        "integration's secret and the body is never trusted (the run re-reads the members). "
        "Unverified: the webhook calls were tested with payloads shaped as the guide shows, not "
        "sent by Mailchimp."
    ),
    notes=(
        "Incremental sync: lists/{list_id}/members?since_last_changed=<ISO>, offset paging "
        "(count <= 1000). Webhooks are form-encoded and unsigned: put a secret in the URL query "
        "and compare it on POST; Mailchimp checks the URL with a GET that must get 200."
    ),
)
