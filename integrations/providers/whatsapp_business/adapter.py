"""WhatsApp Business's adapter: the system-user access token as a Bearer token."""

from __future__ import annotations

from collections.abc import Mapping

from integrations.providers.adapter import ProviderAdapter


class WhatsappBusinessAdapter(ProviderAdapter):
    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {values.get('accessToken', '')}"}
