"""Google Calendar's adapter: the base behaviour (Bearer OAuth token, the entry's test call)."""

from __future__ import annotations

from integrations.providers.adapter import ProviderAdapter


class GoogleCalendarAdapter(ProviderAdapter):
    pass
