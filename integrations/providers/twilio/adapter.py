"""Twilio's adapter: HTTP Basic with the Account SID and auth token."""

from __future__ import annotations

from collections.abc import Mapping

from integrations.providers.adapter import ProviderAdapter, basic


class TwilioAdapter(ProviderAdapter):
    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": basic(values.get("accountSid", ""), values.get("authToken", ""))}
