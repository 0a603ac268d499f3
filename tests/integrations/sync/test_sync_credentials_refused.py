"""A provider that refuses the stored credentials (an API key revoked or rolled: no token
refresh can cure it) ends the run failed with ``provider_expired`` and marks the integration
``expired``, telling the browsers; the schedule then leaves it alone until it is reconnected."""

from __future__ import annotations

import pytest

from integrations.models import Integration
from integrations.providers import registry
from integrations.providers.adapter import CredentialsRefused
from integrations.sync.services import syncs_schedule_due
from tests.support.memory_provider import memory_provider  # noqa: F401 - fixture
from tests.support.sync_runs import connect_calendar, reload, run_sync

pytestmark = pytest.mark.django_db


def test_refused_credentials_fail_the_run_and_expire_the_integration(alice, memory_provider, monkeypatch):  # noqa: F811
    memory_provider("google_calendar")
    published = []
    monkeypatch.setattr("integrations.tokens.publish", lambda tenant, kind, data: published.append((kind, data)))

    def refuse(self, client, *, container, cursor):
        raise CredentialsRefused("the provider refused the API key")

    monkeypatch.setattr(registry.ADAPTERS["google_calendar"], "list_changes", refuse)
    integration = connect_calendar(alice, direction="import", frequency="hourly")

    entry = run_sync(integration)

    assert (entry.status, entry.error_code) == ("failed", "provider_expired")
    integration = reload(integration)
    assert integration.status == Integration.Status.EXPIRED
    assert "refused the API key" in integration.last_error
    assert [d["reason"] for k, d in published if k == "integration.disconnected"] == ["credentials_refused"]
    assert syncs_schedule_due()["started"] == 0
