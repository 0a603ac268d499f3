"""``ProviderAdapter.settings_values``: connection values the integration's settings decide
(Xero's chosen organisation) reach every call of the hub's client, and the adapter's headers."""

from __future__ import annotations

import pytest

from core.tenant_context import tenant_scope
from integrations.client import ProviderClient
from integrations.providers import registry
from integrations.providers.catalog import get_provider
from tests.support.oauth import make_oauth_integration

pytestmark = pytest.mark.django_db


def test_settings_values_join_the_clients_values(alice, monkeypatch):
    integration = make_oauth_integration(alice, "xero")
    with tenant_scope(alice.tenant.id):
        integration.settings = {"organisations": [{"organisationId": "t-1", "organisationName": "A"}],
                                "organisationId": None}
        integration.save()
        values = ProviderClient.for_integration(integration).connection.values
    assert values["xeroTenantId"] == "t-1"  # a single organisation: used without a choice
    headers = registry.adapter_for(get_provider("xero")).auth_headers(values, "at")
    assert headers == {"Authorization": "Bearer at", "Xero-tenant-id": "t-1"}
    assert registry.adapter_for(get_provider("google_calendar")).settings_values({"x": 1}) == {}
