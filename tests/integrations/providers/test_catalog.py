"""The provider catalog is plain data: these tests need neither Django nor a database."""

import json
from urllib.parse import urlparse

import pytest

from integrations.providers import (
    CATEGORIES,
    LOCAL_ENTITY_TYPES,
    PROVIDERS,
    SYNC_DIRECTIONS,
    UnknownProvider,
    get_provider,
    providers_by_category,
)
from tests.support.paths import ROOT
from webhooks.verification import SCHEMES as WEBHOOK_SCHEMES

REPO_ROOT = ROOT

# The seed's IntegrationProvider type, in its order (23 ids).
SEED_PROVIDERS = [
    "google_calendar",
    "outlook_calendar",
    "apple_calendar",
    "google_drive",
    "dropbox",
    "onedrive",
    "quickbooks",
    "xero",
    "hashavshevet",
    "priority",
    "whatsapp_business",
    "twilio",
    "sendgrid",
    "mailchimp",
    "stripe",
    "payplus",
    "cardcom",
    "canva",
    "figma",
    "hubspot",
    "monday",
    "custom_webhook",
    "custom_api",
]

# The seed's PROVIDER_RATE_LIMITS, as (requests, per_seconds).
SEED_RATE_LIMITS = {
    "google_calendar": (100, 60),
    "google_drive": (1000, 60),
    "stripe": (100, 1),
    "quickbooks": (500, 60),
}


def _keys(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def test_catalog_holds_exactly_the_seed_providers_in_seed_order():
    assert list(PROVIDERS) == SEED_PROVIDERS
    assert len(PROVIDERS) == 23


def test_every_provider_is_in_exactly_one_existing_category():
    listed = [pid for category in CATEGORIES for pid in category.providers]

    assert sorted(listed) == sorted(PROVIDERS)
    assert len(listed) == len(set(listed))
    for category in CATEGORIES:
        for pid in category.providers:
            assert PROVIDERS[pid].category == category.id


def test_categories_keep_the_seed_ones_and_add_design_and_crm_before_webhooks():
    assert [c.id for c in CATEGORIES] == [
        "calendar",
        "storage",
        "accounting",
        "communication",
        "payments",
        "design",
        "crm",
        "webhooks",
    ]
    by_id = {c.id: c for c in CATEGORIES}
    assert (by_id["design"].name_he, by_id["design"].icon) == ("כלי עיצוב", "palette")
    assert (by_id["crm"].name_he, by_id["crm"].icon) == ("CRM", "users")
    assert by_id["design"].providers == ("canva", "figma")
    assert by_id["crm"].providers == ("hubspot", "monday")
    assert by_id["accounting"].providers == ("quickbooks", "xero", "hashavshevet", "priority")


def test_oauth2_providers_have_https_authorization_and_token_urls():
    oauth_providers = [p for p in PROVIDERS.values() if p.auth_kind == "oauth2"]

    assert oauth_providers
    for provider in oauth_providers:
        for url in (provider.oauth.authorization_url, provider.oauth.token_url):
            parsed = urlparse(url)
            assert parsed.scheme == "https" and parsed.netloc, (provider.id, url)


def test_api_key_and_caldav_providers_have_credential_fields():
    for provider in PROVIDERS.values():
        if provider.auth_kind in ("api_key", "caldav"):
            assert provider.credential_fields, provider.id
            names = [f.name for f in provider.credential_fields]
            assert len(names) == len(set(names)), provider.id


def test_named_credential_fields():
    def names(pid):
        return {f.name for f in get_provider(pid).credential_fields}

    assert "apiKey" in names("stripe")
    assert {"accountSid", "authToken"} <= names("twilio")
    assert {"apiKey", "secretKey"} <= names("payplus")
    assert {"terminalNumber", "apiName", "apiPassword"} <= names("cardcom")
    apple = {f.name: f for f in get_provider("apple_calendar").credential_fields}
    assert {"username", "appPassword", "serverUrl"} <= set(apple)
    assert apple["serverUrl"].default == "https://caldav.icloud.com"


def test_seed_rate_limits_are_exact():
    for pid, (requests, per_seconds) in SEED_RATE_LIMITS.items():
        limit = get_provider(pid).rate_limit
        assert (limit.requests, limit.per_seconds) == (requests, per_seconds), pid


def test_every_rate_limit_names_its_source():
    for provider in PROVIDERS.values():
        assert provider.rate_limit.source.strip(), provider.id


def test_thinly_documented_providers_are_marked_limited_with_a_reason():
    for pid in ("hashavshevet", "priority", "payplus", "cardcom"):
        provider = get_provider(pid)
        assert provider.maturity == "limited", pid
        assert provider.maturity_note, pid


def test_google_asks_for_offline_access_and_consent():
    for pid in ("google_calendar", "google_drive"):
        params = get_provider(pid).oauth.extra_authorize_params
        assert params["access_type"] == "offline"
        assert params["prompt"] == "consent"


def test_quickbooks_keeps_the_realm_id_from_the_callback():
    assert get_provider("quickbooks").oauth.callback_params == ("realmId",)


def test_webhook_schemes_and_entity_pairs_use_known_values():
    for provider in PROVIDERS.values():
        assert provider.webhook_scheme is None or provider.webhook_scheme in WEBHOOK_SCHEMES
        for pair in provider.entity_pairs:
            assert pair.local in LOCAL_ENTITY_TYPES, provider.id
            assert set(pair.directions) <= set(SYNC_DIRECTIONS), provider.id


def test_logos_exist_on_disk():
    for provider in PROVIDERS.values():
        assert provider.logo == f"integrations/logos/{provider.id}.svg"
        path = REPO_ROOT / "static" / provider.logo
        assert path.is_file(), path
        assert path.read_text(encoding="utf-8").lstrip().startswith("<svg")


def test_unknown_provider_raises_a_value_error():
    with pytest.raises(UnknownProvider):
        get_provider("myspace")
    assert issubclass(UnknownProvider, ValueError)


def test_providers_by_category_is_json_ready_and_has_no_secret_keys():
    data = providers_by_category()

    json.dumps(data, ensure_ascii=False)
    assert [c["id"] for c in data] == [c.id for c in CATEGORIES]
    assert [p["id"] for c in data for p in c["providers"]] == SEED_PROVIDERS
    assert not [key for key in _keys(data) if "secret" in key.lower()]
    google = data[0]["providers"][0]
    assert google["rateLimit"] == {"requests": 100, "perSeconds": 60}
    assert google["authKind"] == "oauth2" and google["pkce"] is True
    meeting_pair = {"local": "meeting", "remote": "event", "directions": list(SYNC_DIRECTIONS)}
    assert meeting_pair in google["entityPairs"]
