"""The provider catalog: the registered providers' entries, read from their folders.

Each provider's entry lives in ``integrations/providers/<provider_id>/entry.py``
and the registry (:mod:`integrations.providers.registry`) lists them; this
module keeps the names the rest of the hub imports (``PROVIDERS``,
``WEBHOOK_SCHEMES``, ``get_provider``, ``providers_by_category``, the entry types and constants).
"""

from __future__ import annotations

from typing import Any

from django.utils import translation

from integrations.providers.base import (
    AUTH_KINDS,
    CATEGORY_DEFS,
    LOCAL_ENTITY_TYPES,
    MATURITIES,
    SYNC_DIRECTIONS,
    TOKEN_AUTH_METHODS,
    Category,
    CredentialField,
    EntityPair,
    OAuthConfig,
    Provider,
    RateLimit,
    UnknownProvider,
)
from integrations.providers.registry import PROVIDERS, WEBHOOK_SCHEMES

__all__ = [
    "AUTH_KINDS",
    "CATEGORIES",
    "LOCAL_ENTITY_TYPES",
    "MATURITIES",
    "PROVIDERS",
    "SYNC_DIRECTIONS",
    "TOKEN_AUTH_METHODS",
    "Category",
    "CredentialField",
    "EntityPair",
    "OAuthConfig",
    "Provider",
    "RateLimit",
    "UnknownProvider",
    "WEBHOOK_SCHEMES",
    "get_provider",
    "maturity_note_he",
    "provider_as_json",
    "provider_choices",
    "providers_by_category",
]

CATEGORIES: tuple[Category, ...] = tuple(
    Category(cid, name_he, name_en, icon, tuple(pid for pid, p in PROVIDERS.items() if p.category == cid))
    for cid, name_he, name_en, icon in CATEGORY_DEFS
)


def get_provider(provider_id: str) -> Provider:
    try:
        return PROVIDERS[provider_id]
    except (KeyError, TypeError):
        raise UnknownProvider(f"unknown provider: {provider_id!r}") from None


def provider_choices() -> list[tuple[str, str]]:
    """(id, English name) pairs, e.g. for a model field's ``choices``."""
    return [(p.id, p.name_en) for p in PROVIDERS.values()]


def provider_as_json(provider: Provider) -> dict[str, Any]:
    """The public, JSON-ready view of one provider (camelCase keys, no credentials)."""
    return {
        "id": provider.id,
        "nameHe": provider.name_he,
        "nameEn": provider.name_en,
        "descriptionHe": provider.description_he,
        "descriptionEn": provider.description_en,
        "logo": provider.logo,
        "authKind": provider.auth_kind,
        "scopes": list(provider.scopes),
        "pkce": bool(provider.oauth and provider.oauth.pkce),
        "rateLimit": {
            "requests": provider.rate_limit.requests,
            "perSeconds": provider.rate_limit.per_seconds,
        },
        "webhookScheme": provider.webhook_scheme,
        "entityPairs": [
            {"local": pair.local, "remote": pair.remote, "directions": list(pair.directions)}
            for pair in provider.entity_pairs
        ],
        "docsUrl": provider.docs_url,
        "maturity": provider.maturity,
        "maturityNote": provider.maturity_note,
        "maturityNoteHe": maturity_note_he(provider),
        "credentialFields": [f.as_json() for f in provider.credential_fields],
    }


def maturity_note_he(provider: Provider) -> str:
    """The maturity note in Hebrew (its translation in integrations/locale, like the credential
    fields' help; identifiers between backticks); "" when the provider has no note."""
    if not provider.maturity_note:
        return ""
    with translation.override("he"):
        return translation.gettext(provider.maturity_note)


def providers_by_category() -> list[dict[str, Any]]:
    """Categories with their providers, for the integrations page and the SPA."""
    return [
        {
            "id": category.id,
            "nameHe": category.name_he,
            "nameEn": category.name_en,
            "icon": category.icon,
            "providers": [provider_as_json(PROVIDERS[pid]) for pid in category.providers],
        }
        for category in CATEGORIES
    ]
