"""Custom API's adapter: the tenant names the auth header and its value; the test call is a
GET of the base URL, and any answer below 400 proves the server and the key work."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.providers.adapter import Answer, ProviderAdapter, TestCall


class CustomApiAdapter(ProviderAdapter):
    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        if values.get("apiKey"):
            return {values.get("authHeader") or "Authorization": values["apiKey"]}
        return {}

    @property
    def can_test_connection(self) -> bool:
        return True

    def test_call(self, values: Mapping[str, Any]) -> TestCall | None:
        return TestCall("GET", "")

    def test_ok(self, response: Answer) -> bool:
        return response.status < 400
