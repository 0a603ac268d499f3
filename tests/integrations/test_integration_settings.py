"""Provider settings and conflictPolicy through PATCH (issue 11 item 7, seed section ג) and
POST /api/integrations/{id}/mappings/preview (item 6)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.tenant_context import tenant_scope
from integrations.models import CurrencyRate, Integration
from integrations.providers._calendar import DEFAULT_CALENDAR_MAPPING
from integrations.providers.catalog import get_provider
from integrations.providers.registry import adapter_for
from integrations.sync.mapping import MappingContext, compile_mappings
from tenancy.models import Membership
from tests.integrations.sync.test_sync_mapping import GOOGLE_ALL_DAY, GOOGLE_EVENT, LOCAL_MEETING
from tests.support.factories import client_for, persona_in
from tests.support.oauth import make_oauth_integration

pytestmark = pytest.mark.django_db

CALENDARS = [
    {"calendarId": "primary", "calendarName": "Noa", "color": "#9fe1e7", "syncEnabled": True},
    {"calendarId": "c_1a2b3c@group.calendar.google.com", "calendarName": "Site visits", "color": "#f83a22",
     "syncEnabled": False},
]


@pytest.fixture
def google(alice):
    return make_oauth_integration(alice, "google_calendar")


def stored(integration: Integration) -> Integration:
    with tenant_scope(integration.tenant_id):
        return Integration.objects.get(pk=integration.pk)


# ------------------------------------------------------------------ settings and conflictPolicy
def test_patch_settings_merges_over_the_stored_object_and_keeps_camel_case(alice_api, google):
    first = alice_api.patch(f"/api/integrations/{google.pk}", {"settings": {"calendars": CALENDARS, "syncTasks": True}},
                            format="json")
    second = alice_api.patch(f"/api/integrations/{google.pk}",
                             {"settings": {"autoCreateMeetings": False}, "conflictPolicy": "remote_wins"}, format="json")
    assert (first.status_code, second.status_code) == (200, 200), (first.content, second.content)
    expected = {"calendars": CALENDARS, "syncTasks": True, "autoCreateMeetings": False}
    assert second.json()["settings"] == expected
    assert second.json()["conflictPolicy"] == "remote_wins"
    row = stored(google)
    assert (row.settings, row.conflict_policy) == (expected, "remote_wins")
    assert alice_api.get(f"/api/integrations/{google.pk}").json()["settings"]["calendars"][1]["calendarId"] == (
        "c_1a2b3c@group.calendar.google.com")


@pytest.mark.parametrize(("settings", "bad_key", "message"), [
    ({"syncMeetings": "yes"}, "syncMeetings", "must be true or false"),
    ({"direction": "bidirectional"}, "direction", "unknown setting"),
    ({"calendars": [{"calendarId": "primary", "calendarName": "x", "color": "#fff", "syncEnabled": 1}]},
     "calendars[0]", "syncEnabled must be true or false"),
    ({"calendars": [{"calendarId": "", "syncEnabled": True}]}, "calendars[0]", "calendarId must be a non-empty"),
    ({"calendars": [{"calendarId": "a", "calendarName": "n" * 201, "syncEnabled": True}]}, "calendars[0]",
     "calendarName must be a string of at most 200"),
    ({"calendars": [{"calendarId": "a", "color": "red; x", "syncEnabled": True}]}, "calendars[0]", "color"),
    ({"calendars": [{"calendarId": "a", "syncEnabled": True, "owner": "me"}]}, "calendars[0]", "unknown key 'owner'"),
    ({"calendars": [{"calendarId": "a", "syncEnabled": True}, {"calendarId": "a", "syncEnabled": False}]},
     "calendars[1]", "listed twice"),
    ({"calendars": [{"calendarId": f"c{i}", "syncEnabled": True} for i in range(51)]}, "calendars", "at most 50"),
    ({"calendars": "primary"}, "calendars", "must be a list"),
    ({"timeZone": "Mars/Olympus"}, "timeZone", "IANA time zone"),
])
def test_invalid_settings_are_400_naming_the_key_and_change_nothing(alice_api, google, settings, bad_key, message):
    response = alice_api.patch(f"/api/integrations/{google.pk}", {"settings": settings, "name": "Renamed"}, format="json",
                               HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert message in str(error["fields"]["settings"][bad_key])
    row = stored(google)
    assert (row.settings, row.name) == ({}, "google_calendar")


def test_settings_and_conflict_policy_shapes_are_checked(alice_api, google, alice):
    hubspot = make_oauth_integration(alice, "hubspot")
    cases = [
        (google, {"settings": ["calendars"]}, "settings"),
        (google, {"conflictPolicy": "oldest_wins"}, "conflictPolicy"),
        (hubspot, {"settings": {"calendars": []}}, "settings"),  # a provider without settings
    ]
    for integration, body, field in cases:
        response = alice_api.patch(f"/api/integrations/{integration.pk}", body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json()["error"]["fields"], response.json()
    assert stored(google).conflict_policy == "newest_wins"


def test_a_member_cannot_patch_settings(alice, google):
    member = client_for(persona_in(alice, "mia@example.com", Membership.Role.MEMBER))
    response = member.patch(f"/api/integrations/{google.pk}", {"settings": {"syncTasks": True},
                                                              "conflictPolicy": "local_wins"}, format="json")
    assert response.status_code == 403
    assert (stored(google).settings, stored(google).conflict_policy) == ({}, "newest_wins")


def test_another_tenant_gets_404(bob_api, google):
    patch = bob_api.patch(f"/api/integrations/{google.pk}", {"settings": {"syncTasks": True}}, format="json")
    preview = bob_api.post(f"/api/integrations/{google.pk}/mappings/preview",
                           {"localEntity": "meeting", "remoteEntity": "event", "remote": GOOGLE_EVENT}, format="json")
    assert (patch.status_code, preview.status_code) == (404, 404)
    assert stored(google).settings == {}


def test_connecting_a_calendar_stores_the_settings_defaults_and_a_reconnect_keeps_choices(alice_api, radicale):
    credentials = {"username": "studio@example.com", "appPassword": "app-pass-1234", "serverUrl": radicale.url}
    created = alice_api.post("/api/integrations/connect/apple_calendar", {"credentials": credentials}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["settings"] == {"calendars": [], "syncMeetings": True, "syncTasks": False,
                                          "syncDeliveries": False, "autoCreateEvents": True, "autoCreateMeetings": True}
    assert created.json()["conflictPolicy"] == "newest_wins"
    pk = created.json()["id"]
    assert alice_api.patch(f"/api/integrations/{pk}", {"settings": {"syncTasks": True}}, format="json").status_code == 200
    again = alice_api.post("/api/integrations/connect/apple_calendar", {"credentials": credentials}, format="json")
    assert again.json()["id"] == pk and again.json()["settings"]["syncTasks"] is True


def test_every_calendar_adapter_validates_the_same_settings():
    for provider_id in ("google_calendar", "outlook_calendar", "apple_calendar"):
        adapter = adapter_for(get_provider(provider_id))
        assert adapter.settings_errors(adapter.settings_defaults()) == {}
        assert adapter.settings_errors({"calendars": CALENDARS, "timeZone": "Europe/London"}) == {}
        assert set(adapter.settings_errors({"bogus": 1, "syncTasks": None})) == {"bogus", "syncTasks"}


# ------------------------------------------------------------------ mapping preview
def preview(api, integration, body, **headers):
    return api.post(f"/api/integrations/{integration.pk}/mappings/preview", body, format="json", **headers)


def test_a_member_previews_a_sample_both_ways_and_nothing_changes(alice, google):
    member = client_for(persona_in(alice, "mia@example.com", Membership.Role.MEMBER))
    before = stored(google).updated_at
    response = preview(member, google, {"localEntity": "meeting", "remoteEntity": "event", "local": LOCAL_MEETING,
                                        "remote": GOOGLE_EVENT, "fieldMappings": DEFAULT_CALENDAR_MAPPING})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["toRemote"] == {
        "summary": "Site visit - Rothschild 12", "description": "Measure the living room and the balcony.",
        "start": {"dateTime": "2026-12-02T10:00:00+02:00"}, "end": {"dateTime": "2026-12-02T11:30:00+02:00"},
        "location": "Rothschild Blvd 12, Tel Aviv",
        "attendees": [{"email": "dana@client.example"}, {"email": "noa@studio.example"}],
    }
    assert body["toLocal"]["startTime"] == "2026-12-02T10:00:00+02:00"
    assert body["toLocal"]["attendees"] == ["dana@client.example", "noa@studio.example"]
    assert (body["notes"], body["mappingsSource"]) == ([], "request")
    assert stored(google).updated_at == before


def test_preview_uses_the_integrations_mappings_and_time_zone(alice_api, google):
    own = [{"localEntity": "meeting", "localField": "startTime", "remoteField": "start.dateTime",
            "transform": "date_format"},
           {"localEntity": "meeting", "localField": "title", "remoteField": "summary", "transform": "custom",
            "transformConfig": {"name": "prefix", "params": {"value": "[AS] "}}}]
    patched = alice_api.patch(f"/api/integrations/{google.pk}", {
        "syncSettings": {"direction": "bidirectional", "frequency": "manual", "fieldMappings": own},
        "settings": {"timeZone": "Europe/London"}}, format="json")
    assert patched.status_code == 200, patched.content
    response = preview(alice_api, google, {"localEntity": "meeting", "remoteEntity": "event",
                                           "local": {"title": "Kickoff"}, "remote": GOOGLE_ALL_DAY})
    assert response.status_code == 200, response.content
    assert response.json() == {"toRemote": {"summary": "[AS] Kickoff"},
                               "toLocal": {"startTime": "2026-12-05T00:00:00+00:00", "title": "Studio closed - Hanukkah"},
                               "notes": [], "mappingsSource": "integration"}


def test_preview_without_mappings_uses_the_providers_default(alice_api, google):
    response = preview(alice_api, google, {"localEntity": "meeting", "remoteEntity": "event", "remote": GOOGLE_EVENT})
    assert response.status_code == 200, response.content
    defaults = adapter_for(get_provider("google_calendar")).default_mappings("meeting", "event")
    expected = compile_mappings([], local_type="meeting", defaults=defaults).to_local(GOOGLE_EVENT, MappingContext())
    assert response.json() == {"toRemote": None, "toLocal": expected, "notes": [], "mappingsSource": "default"}


def test_preview_lists_the_currency_rates_used(alice, alice_api):
    CurrencyRate.objects.create(base="USD", quote="ILS", rate=Decimal("3.65"), valid_on=date(2026, 1, 1))
    quickbooks = make_oauth_integration(alice, "quickbooks")
    pair = next(p for p in get_provider("quickbooks").entity_pairs if p.local == "payment")
    mappings = [{"localEntity": pair.local, "localField": "amount", "remoteField": "TotalAmt",
                 "transform": "currency_convert", "transformConfig": {"from": "ILS", "to": "USD"}}]
    response = preview(alice_api, quickbooks, {"localEntity": pair.local, "remoteEntity": pair.remote,
                                               "local": {"amount": "365.00"}, "fieldMappings": mappings})
    assert response.status_code == 200, response.content
    assert response.json()["toRemote"] == {"TotalAmt": 100}
    note = response.json()["notes"][0]
    assert (note["from"], note["to"], note["rate"], note["inverse"]) == ("ILS", "USD", "3.65000000", True)


@pytest.mark.parametrize(("body", "field"), [
    ({"localEntity": "meeting", "remoteEntity": "invoice", "remote": {}}, "remoteEntity"),
    ({"localEntity": "spaceship", "remoteEntity": "event"}, "localEntity"),
    ({"localEntity": "meeting", "remoteEntity": "event", "local": ["not", "an", "object"]}, "local"),
    ({"localEntity": "meeting", "remoteEntity": "event", "local": {"startTime": "soon"},
      "fieldMappings": DEFAULT_CALENDAR_MAPPING}, "local"),
    ({"localEntity": "meeting", "remoteEntity": "event", "remote": {"start": {"dateTime": 5}},
      "fieldMappings": DEFAULT_CALENDAR_MAPPING}, "remote"),
    ({"localEntity": "meeting", "remoteEntity": "event", "fieldMappings": [
        {"localEntity": "meeting", "localField": "title", "remoteField": "summary", "transform": "custom",
         "transformConfig": {"name": "os.system"}}]}, "fieldMappings"),
    ({"localEntity": "meeting", "remoteEntity": "event", "fieldMappings": "all"}, "fieldMappings"),
])
def test_bad_preview_input_is_400_with_the_envelope(alice_api, google, body, field):
    response = preview(alice_api, google, body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"], error


def test_preview_errors_follow_the_requests_language(alice_api, google):
    body = {"localEntity": "meeting", "remoteEntity": "invoice", "remote": {}}
    hebrew = preview(alice_api, google, body).json()["error"]["fields"]
    assert "לא יכול לסנכרן את 'meeting' עם 'invoice'" in str(hebrew["remoteEntity"])
    english = preview(alice_api, google, body, HTTP_ACCEPT_LANGUAGE="en").json()["error"]["fields"]
    assert "cannot sync 'meeting' with 'invoice'" in str(english["remoteEntity"])
    body = {"localEntity": "meeting", "remoteEntity": "event", "fieldMappings": [
        {"localEntity": "meeting", "localField": "title", "remoteField": "summary", "transform": "custom",
         "transformConfig": {"name": "prefix"}}]}
    assert "prefix: params.value הוא שדה חובה" in str(preview(alice_api, google, body).json()["error"]["fields"])
    english = preview(alice_api, google, body, HTTP_ACCEPT_LANGUAGE="en").json()["error"]["fields"]
    assert "prefix: params.value is required" in str(english)


# ------------------------------------------------------------------ CurrencyRate in the admin
@pytest.mark.django_db(transaction=True)  # operator_scope writes on its own connection
def test_operators_keep_currency_rates_in_the_admin(admin_client):
    added = admin_client.post("/admin/integrations/currencyrate/add/", {
        "base": "usd", "quote": "ils", "rate": "3.6512", "valid_on": "2026-12-01", "source": "Bank of Israel"})
    assert added.status_code == 302, added.content.decode()[:2000]
    assert CurrencyRate.objects.get().base == "USD"
    refused = [
        admin_client.post("/admin/integrations/currencyrate/add/", {
            "base": "USD", "quote": "ILS", "rate": "3.7", "valid_on": "2026-12-01"}),  # same day twice
        admin_client.post("/admin/integrations/currencyrate/add/", {
            "base": "EUR", "quote": "ILS", "rate": "0", "valid_on": "2026-12-01"}),
        admin_client.post("/admin/integrations/currencyrate/add/", {
            "base": "EURO", "quote": "ILS", "rate": "4", "valid_on": "2026-12-01"}),
    ]
    assert [r.status_code for r in refused] == [200, 200, 200]  # the form again, with its errors
    assert CurrencyRate.objects.count() == 1
    found = admin_client.get("/admin/integrations/currencyrate/?q=USD&base=USD")
    missing = admin_client.get("/admin/integrations/currencyrate/?q=EUR")
    assert b"3.65120000" in found.content and b"3.65120000" not in missing.content
