"""Apple Calendar's adapter: CalDAV with HTTP Basic (Apple ID + app-specific password); the
test call is a Depth-0 PROPFIND of the server root, answered 207 Multi-Status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.providers._calendar import CalendarSettings
from integrations.providers.adapter import Answer, ProviderAdapter, TestCall, basic

CALDAV_PROPFIND = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>'
)


class AppleCalendarAdapter(CalendarSettings, ProviderAdapter):
    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": basic(values.get("username", ""), values.get("appPassword", ""))}

    def test_call(self, values: Mapping[str, Any]) -> TestCall | None:
        call = super().test_call(values)
        if call is None:
            return None
        # PROPFIND the server root (or the configured server URL): path "".
        return TestCall(call.method, "", {
            "data": CALDAV_PROPFIND,
            "headers": {"Depth": "0", "Content-Type": "application/xml; charset=utf-8"},
        })

    def test_ok(self, response: Answer) -> bool:
        return response.status == 207
