"""Dropbox's adapter: the test call is a POST that changes nothing, so it may be retried.
(Revocation with the access token as bearer is data: the entry's ``revoke_auth``.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.providers.adapter import ProviderAdapter, TestCall


class DropboxAdapter(ProviderAdapter):
    def test_call(self, values: Mapping[str, Any]) -> TestCall | None:
        call = super().test_call(values)
        # get_current_account takes no body and changes nothing.
        return call and TestCall(call.method, call.path, {"idempotent": True})
