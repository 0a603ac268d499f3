"""PayPlus's adapter: the key pair as a JSON Authorization header; the test call is a
today-only transactions report, which changes nothing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from integrations.providers.adapter import ProviderAdapter, TestCall


class PayplusAdapter(ProviderAdapter):
    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": json.dumps({"api_key": values.get("apiKey", ""),
                                             "secret_key": values.get("secretKey", "")})}

    def test_call(self, values: Mapping[str, Any]) -> TestCall | None:
        call = super().test_call(values)
        if call is None:
            return None
        today = timezone.localdate().isoformat()
        body = {"terminal_uid": values.get("terminalUid") or "", "fromDate": today, "untilDate": today}
        return TestCall(call.method, call.path, {"json": body, "idempotent": True})
