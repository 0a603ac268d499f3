"""Stripe's adapter: the secret (or restricted) key as a Bearer token."""

from __future__ import annotations

from collections.abc import Mapping

from integrations.providers.adapter import ProviderAdapter


class StripeAdapter(ProviderAdapter):
    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {values.get('apiKey', '')}"}
