"""The hub's side of the OAuth tests: run the connect dance against the local OAuth
server (tests/support/oauth_server; its fixtures ``oauth_server``, ``hubspot_app`` and
``local_oauth_http`` are in tests/conftest.py), and store an OAuth integration directly."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

from django.utils import timezone
from rest_framework.test import APIClient

from core.tenant_context import tenant_scope
from integrations.models import Integration
from integrations.tokens import Credentials
from tests.support.oauth_server.harness import OAuthServer

PROVIDER = "hubspot"  # a real catalog entry, pointed at the local server by its ProviderApp


def open_callback(location: str, client: APIClient | None = None):
    """Open the provider's redirect in ``client``'s browser (its cookie jar); a fresh
    client is a browser that did not start the connection."""
    parts = urlsplit(location)
    return (client or APIClient()).get(f"{parts.path}?{parts.query}")


def connect(api: APIClient, server: OAuthServer) -> str:
    """Run the dance in one browser (``api`` keeps the nonce cookie); returns the new integration id."""
    start = api.get(f"/api/integrations/connect/{PROVIDER}", HTTP_ACCEPT="application/json")
    assert start.status_code == 200, start.content
    location = server.consent(start.json()["authorizationUrl"])
    done = open_callback(location, api)
    assert done.status_code == 302, done.content
    assert done["Location"].startswith("/integrations/")
    return done["Location"].split("/integrations/")[1].split("?")[0]


def make_oauth_integration(persona, provider_id: str, *, access="at-1", refresh="rt-1", config=None) -> Integration:
    """A connected integration holding the given tokens (valid for an hour), without any dance."""
    with tenant_scope(persona.tenant.id):
        integration = Integration(tenant=persona.tenant, provider=provider_id, name=provider_id,
                                  connected_by=persona.user, status="connected", connection_config=config or {})
        creds = Credentials(access, refresh, timezone.now() + timedelta(hours=1), ["s"])
        integration.set_secret("oauth_encrypted", json.dumps(creds.as_json()))
        integration.token_expires_at = creds.expires_at
        integration.save()
    return integration
