"""Priority's adapter: Basic auth (user or personal access token), plus the app id/key headers
when the installation requires a registered application."""

from __future__ import annotations

from collections.abc import Mapping

from integrations.providers.adapter import ProviderAdapter, basic


class PriorityAdapter(ProviderAdapter):
    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        headers = {"Authorization": basic(values.get("username", ""), values.get("password", ""))}
        if values.get("appId"):
            headers.update({"X-App-Id": values["appId"], "X-App-Key": values.get("appKey", "")})
        return headers
