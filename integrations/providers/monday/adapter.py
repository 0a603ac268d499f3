"""monday.com's adapter: the OAuth token goes in Authorization without a scheme, every call
pins an API version, and the test call is a GraphQL query whose errors come back with 200."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.providers.adapter import Answer, ProviderAdapter, TestCall

API_VERSION = "2025-04"


class MondayAdapter(ProviderAdapter):
    def oauth_headers(self, access_token: str) -> dict[str, str]:
        return {"Authorization": access_token, "API-Version": API_VERSION}

    def test_call(self, values: Mapping[str, Any]) -> TestCall | None:
        call = super().test_call(values)
        return call and TestCall(call.method, call.path, {"json": {"query": "{ me { id name } }"}, "idempotent": True})

    def test_ok(self, response: Answer) -> bool:
        return response.ok and isinstance(response.data, dict) and not response.data.get("errors")
