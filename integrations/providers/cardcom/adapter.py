"""Cardcom's adapter: the base behaviour (Bearer OAuth token, the entry's test call)."""

from __future__ import annotations

from integrations.providers.adapter import ProviderAdapter


class CardcomAdapter(ProviderAdapter):
    """Credentials travel in the request path or body, not in headers: nothing beyond the base."""
