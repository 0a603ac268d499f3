"""Container discovery on connect: the whole Google Calendar OAuth dance against the local
OAuth server (tests/support/oauth_server), with the provider app's API base pointed at the fake
Calendar API (tests/support/fakes/google_calendar.py); the calendars land in
Integration.settings["calendars"], and a discovery failure does not fail the connect."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from core.tenant_context import tenant_scope
from integrations.models import Integration, IntegrationLog
from integrations.services import provider_app_set
from integrations.tokens import read_credentials
from tests.support.oauth_server import harness

PROVIDER = "google_calendar"
PRIMARY = "studio@example.com"
TEAM = "team@group.calendar.google.com"

pytestmark = pytest.mark.usefixtures("local_oauth_http")


@pytest.fixture(scope="module")
def google_oauth_server():
    """The local OAuth server with the google_calendar callback registered."""
    server = harness.start(f"{settings.PUBLIC_BASE_URL}/api/integrations/callback/{PROVIDER}")
    yield server
    server.stop()


@pytest.fixture
def calendar_app(db, google_oauth_server, google_calendar_fake):
    server = google_oauth_server
    return provider_app_set(
        provider_id=PROVIDER, client_id=server.client_id, client_secret=server.client_secret,
        authorization_url=server.authorization_url, token_url=server.token_url, revoke_url=server.revoke_url,
        api_base_url=google_calendar_fake.base_url, scopes="read write",
    )


def connect(api: APIClient, server: harness.OAuthServer) -> str:
    start = api.get(f"/api/integrations/connect/{PROVIDER}", HTTP_ACCEPT="application/json")
    assert start.status_code == 200, start.content
    location = urlsplit(server.consent(start.json()["authorizationUrl"]))
    done = api.get(f"{location.path}?{location.query}")
    assert done.status_code == 302, done.content
    assert done["Location"].startswith("/integrations/"), done["Location"]
    return done["Location"].split("/integrations/")[1].split("?")[0]


def _integration(persona, integration_id) -> Integration:
    with tenant_scope(persona.tenant.id):
        return Integration.objects.get(pk=integration_id)


def _discovery_logs(persona, integration_id) -> list[IntegrationLog]:
    with tenant_scope(persona.tenant.id):
        return [row for row in IntegrationLog.objects.filter(integration_id=integration_id).order_by("created_at")
                if (row.summary or {}).get("step") == "container_discovery"]


def test_connect_discovers_calendars_with_only_the_primary_enabled(alice, alice_api, calendar_app,
                                                                    google_oauth_server, google_calendar_fake):
    # given
    google_calendar_fake.add_calendar(PRIMARY, "Studio", primary=True, color="#9fe1e7")
    google_calendar_fake.add_calendar(TEAM, "Team", color="#f83a22", access_role="writer")
    # when
    integration_id = connect(alice_api, google_oauth_server)
    # then
    integration = _integration(alice, integration_id)
    assert integration.status == "connected"
    assert integration.settings["calendars"] == [
        {"calendarId": PRIMARY, "calendarName": "Studio", "color": "#9fe1e7", "syncEnabled": True},
        {"calendarId": TEAM, "calendarName": "Team", "color": "#f83a22", "syncEnabled": False},
    ]
    (call,) = [r for r in google_calendar_fake.requests if r.path == "/calendar/v3/users/me/calendarList"]
    with tenant_scope(alice.tenant.id):
        access = read_credentials(integration).access_token
    assert call.headers["authorization"] == f"Bearer {access}"
    (logged,) = _discovery_logs(alice, integration_id)
    assert (logged.action, logged.status, logged.summary["calendars"]) == ("api_call", "success", 2)


def test_reconnect_keeps_the_tenants_choices_and_adds_new_calendars_disabled(alice, alice_api, calendar_app,
                                                                            google_oauth_server, google_calendar_fake):
    # given: connected; the tenant enabled Team and disabled the primary
    google_calendar_fake.add_calendar(PRIMARY, "Studio", primary=True)
    google_calendar_fake.add_calendar(TEAM, "Team")
    integration_id = connect(alice_api, google_oauth_server)
    with tenant_scope(alice.tenant.id):
        row = Integration.objects.get(pk=integration_id)
        row.settings = {**row.settings, "calendars": [{**c, "syncEnabled": c["calendarId"] == TEAM}
                                                      for c in row.settings["calendars"]]}
        row.save()
    google_calendar_fake.add_calendar("site@group.calendar.google.com", "Site visits")
    # when
    assert connect(alice_api, google_oauth_server) == integration_id
    # then
    calendars = _integration(alice, integration_id).settings["calendars"]
    assert [(c["calendarId"], c["syncEnabled"]) for c in calendars] == [
        (PRIMARY, False), (TEAM, True), ("site@group.calendar.google.com", False)]


def test_a_failed_discovery_does_not_fail_the_connect_and_is_logged(alice, alice_api, calendar_app,
                                                                   google_oauth_server, google_calendar_fake):
    # given: the Calendar API is down (nothing listens at the app's API base)
    closed = f"http://127.0.0.1:{harness.free_port()}"
    provider_app_set(provider_id=PROVIDER, api_base_url=closed)
    # when
    integration_id = connect(alice_api, google_oauth_server)
    # then: connected, no calendars yet, a failed log row saying why
    integration = _integration(alice, integration_id)
    assert integration.status == "connected"
    assert integration.settings["calendars"] == []
    (logged,) = _discovery_logs(alice, integration_id)
    assert (logged.status, logged.error_code) == ("failed", "discovery_failed")
    assert "calendars" in logged.error_message
    # and the settings page's history and the logs API say why in the reader's language (issue 14 item 6)
    from django.test import Client

    from integrations.providers.catalog import get_provider

    name_he = get_provider(PROVIDER).name_he
    hebrew = f"לא ניתן היה לקבל את רשימת היומנים לסנכרון: לא ניתן היה להגיע אל {name_he}"
    web = Client()
    web.force_login(alice.user)
    history = f"/integrations/{integration_id}/history?action=api_call"
    he_page = web.get(history, HTTP_ACCEPT_LANGUAGE="he").content.decode()
    assert hebrew in he_page and "could not list" not in he_page and "connection error" not in he_page
    assert "could not list the calendars to sync" in web.get(history, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = alice_api.get(f"/api/integrations/{integration_id}/logs?action=api_call",
                        HTTP_ACCEPT_LANGUAGE="he").json()["results"][0]
    assert row["errorText"].startswith(hebrew) and row["errorMessage"] == logged.error_message


def test_a_provider_without_discovery_connects_as_before(alice, alice_api, hubspot_app, oauth_server):
    # given: hubspot is not a calendar: nothing to discover
    start = alice_api.get("/api/integrations/connect/hubspot", HTTP_ACCEPT="application/json")
    location = urlsplit(oauth_server.consent(start.json()["authorizationUrl"]))
    # when
    done = alice_api.get(f"{location.path}?{location.query}")
    # then
    integration_id = done["Location"].split("/integrations/")[1].split("?")[0]
    # only hubspot's own defaults (seed section ג), nothing discovered
    from integrations.providers.catalog import get_provider
    from integrations.providers.registry import adapter_for

    assert _integration(alice, integration_id).settings == adapter_for(get_provider("hubspot")).settings_defaults()
    assert "calendars" not in _integration(alice, integration_id).settings
    assert _discovery_logs(alice, integration_id) == []


def test_discovery_keeps_within_the_settings_limits_primary_first(alice, google_calendar_fake):
    # given: 60 calendars (the settings hold at most 50), the primary listed last
    from integrations.discovery import integration_discover_containers
    from integrations.providers._calendar import MAX_CALENDARS
    from tests.support.oauth import make_oauth_integration

    provider_app_set(provider_id=PROVIDER, client_id="gid", client_secret="gs", api_base_url=google_calendar_fake.base_url)
    for i in range(59):
        google_calendar_fake.add_calendar(f"c{i:02d}@group.calendar.google.com", f"Calendar {i}")
    google_calendar_fake.add_calendar(PRIMARY, "Studio", primary=True)
    integration = make_oauth_integration(alice, PROVIDER)
    # when
    stored = integration_discover_containers(integration_id=integration.pk, tenant_id=alice.tenant.id)
    # then
    saved = _integration(alice, integration.pk).settings
    assert stored == saved["calendars"] and len(stored) == MAX_CALENDARS
    assert stored[-1] == {"calendarId": PRIMARY, "calendarName": "Studio", "color": "#9fe1e7", "syncEnabled": True}
    assert [c["calendarId"] for c in stored[:2]] == ["c00@group.calendar.google.com", "c01@group.calendar.google.com"]
    assert saved["syncMeetings"] is True  # the calendar settings' defaults around them
