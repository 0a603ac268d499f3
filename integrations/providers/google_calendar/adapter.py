"""Google Calendar's adapter: the base behaviour (Bearer OAuth token, the entry's test call)."""

from __future__ import annotations

from integrations.providers._calendar import CalendarSettings
from integrations.providers.adapter import ProviderAdapter


class GoogleCalendarAdapter(CalendarSettings, ProviderAdapter):
    pass
