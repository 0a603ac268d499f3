"""The integration settings page (/integrations/<id>, issue 14 item 3) through Django's test
client: the five sections, each form's post through the API's own rules and services,
roles (a member reads, a member's post is 403), CSRF, bad input as a 4xx that changes
nothing, the tenant boundary. The browser flow is in test_settings_page_browser.py."""

from __future__ import annotations

import pytest
from django.test import Client

from core.tenant_context import tenant_scope
from integrations.models import Integration, IntegrationLog
from integrations.providers.catalog import PROVIDERS, get_provider
from tests.support.factories import persona_in
from tests.support.oauth import make_oauth_integration

pytestmark = pytest.mark.django_db

CALENDARS = [{"calendarId": "studio@example.com", "calendarName": "Studio", "color": "#9fe1e7", "syncEnabled": True},
             {"calendarId": "site@example.com", "calendarName": "Site visits", "color": "#ff0000", "syncEnabled": False}]


@pytest.fixture
def calendar(alice) -> Integration:
    integration = make_oauth_integration(alice, "google_calendar", access="ya29.secret-access")
    with tenant_scope(alice.tenant.id):
        integration.settings = {"calendars": CALENDARS, "syncMeetings": True, "syncTasks": False,
                                "syncDeliveries": False, "autoCreateEvents": True, "autoCreateMeetings": True}
        integration.save()
    return integration


def browser(persona, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(persona.user)
    return client


@pytest.fixture
def owner(alice) -> Client:
    return browser(alice)


@pytest.fixture
def member(alice) -> Client:
    return browser(persona_in(alice, "mia@example.com", "member"))


def stored(integration: Integration) -> Integration:
    with tenant_scope(integration.tenant_id):
        return Integration.objects.get(pk=integration.pk)


def url(integration: Integration, part: str = "") -> str:
    return f"/integrations/{integration.pk}" + (f"/{part}" if part else "")


SYNC_FORM = {"enabled": "on", "direction": "bidirectional", "frequency": "hourly", "conflict_policy": "remote_wins",
             "entity-0-enabled": "on", "entity-0-direction": "bidirectional", "entity-1-direction": "export",
             "setting-flags": ["syncMeetings", "syncTasks", "syncDeliveries", "autoCreateEvents", "autoCreateMeetings"],
             "setting-syncMeetings": "on", "setting-autoCreateEvents": "on", "calendar-1": "on",
             "timeZone": "Asia/Jerusalem"}


# --------------------------------------------------------------------------- the page
def test_owner_sees_the_five_sections_and_the_actions_in_hebrew(owner, calendar):
    page = owner.get(url(calendar))
    html = page.content.decode()
    assert page.status_code == 200 and 'dir="rtl"' in html
    for section in ('id="connection"', 'id="sync"', 'id="mappings"', 'id="history"', 'id="errors"'):
        assert section in html
    for title in ("סטטוס חיבור", "הגדרות סנכרון", "מיפוי שדות", "היסטוריית סנכרון", "לוג שגיאות"):
        assert title in html  # the seed's section titles
    assert 'id="test-connection"' in html and 'id="sync-now"' in html and 'id="disconnect"' in html
    assert "Site visits" in html and "secret-access" not in html
    # the provider's default mapping is shown as editable rows (the seed's GOOGLE_CALENDAR_MAPPING)
    assert 'value="start.dateTime"' in html and 'id="mappings-default"' in html


def test_member_sees_everything_read_only(member, calendar):
    html = member.get(url(calendar)).content.decode()
    assert 'id="managers-only"' in html
    assert 'id="sync-now"' not in html and 'id="disconnect"' not in html and 'id="test-connection"' not in html
    assert "<fieldset disabled>" in html  # the sync form's controls
    assert 'name="m-localField"' not in html and "start.dateTime" in html  # mappings as text
    assert "Retry the sync" not in html and "נסה שוב את הסנכרון" not in html


@pytest.mark.parametrize("part", ["sync", "mappings", "test", "sync-now", "retry", "disconnect"])
def test_a_members_post_is_refused_and_changes_nothing(member, calendar, part):
    before = stored(calendar)
    response = member.post(url(calendar, part), SYNC_FORM)
    assert response.status_code == 403
    after = stored(calendar)
    assert (after.sync_settings, after.settings) == (before.sync_settings, before.settings)
    with tenant_scope(calendar.tenant_id):
        assert not IntegrationLog.objects.filter(integration=calendar).exists()


def test_another_tenants_user_gets_404_for_the_page_and_its_parts(bob, calendar):
    client = browser(bob)
    assert client.get(url(calendar)).status_code == 404
    assert client.get(url(calendar, "history")).status_code == 404
    assert client.post(url(calendar, "sync"), SYNC_FORM).status_code == 404
    assert stored(calendar).sync_settings == {}


def test_a_user_of_two_studios_acts_in_the_studio_the_page_shows(alice, bob, calendar):
    from tenancy.services import membership_add

    membership_add(tenant_id=bob.tenant.id, user=alice.user, role="owner")  # alice now in two studios
    client = browser(alice)
    page = client.get(url(calendar) + f"?tenant={alice.tenant.id}")
    assert page.status_code == 200 and f'"X-Tenant-ID": "{alice.tenant.id}"' in page.content.decode()
    saved = client.post(url(calendar, "sync"), SYNC_FORM, HTTP_X_TENANT_ID=str(alice.tenant.id))
    assert saved.status_code == 200 and stored(calendar).sync_settings["frequency"] == "hourly"
    # the other studio's header cannot reach this integration
    assert client.post(url(calendar, "sync"), SYNC_FORM, HTTP_X_TENANT_ID=str(bob.tenant.id)).status_code == 404


def test_unknown_part_is_404_and_anonymous_is_sent_to_log_in(client, owner, calendar):
    assert owner.post(url(calendar, "nothing")).status_code == 404
    assert client.post(url(calendar, "sync"), SYNC_FORM).status_code == 302


def test_csrf_is_enforced_on_the_pages_posts(alice, calendar):
    client = browser(alice, csrf=True)
    assert client.post(url(calendar, "sync"), SYNC_FORM).status_code == 403
    assert stored(calendar).sync_settings == {}
    client.get(url(calendar))  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    assert client.post(url(calendar, "sync"), SYNC_FORM, HTTP_X_CSRFTOKEN=token).status_code == 200


# --------------------------------------------------------------------------- sync settings
def test_sync_settings_are_saved_through_the_apis_rules(owner, calendar):
    response = owner.post(url(calendar, "sync"), SYNC_FORM)
    assert response.status_code == 200 and "הגדרות הסנכרון נשמרו" in response.content.decode()
    saved = stored(calendar)
    assert saved.sync_settings == {
        "enabled": True, "direction": "bidirectional", "frequency": "hourly", "fieldMappings": [], "filters": [],
        "entities": [{"localEntity": "meeting", "remoteEntity": "event", "enabled": True, "direction": "bidirectional"},
                     {"localEntity": "task", "remoteEntity": "event", "enabled": False, "direction": "export"}]}
    assert saved.conflict_policy == "remote_wins"
    assert [c["syncEnabled"] for c in saved.settings["calendars"]] == [False, True]
    assert saved.settings["autoCreateMeetings"] is False and saved.settings["syncMeetings"] is True
    assert saved.settings["timeZone"] == "Asia/Jerusalem"
    # and the API reads back what the page saved
    api = owner.get(f"/api/integrations/{calendar.pk}", HTTP_ACCEPT="application/json").json()
    assert api["syncSettings"]["frequency"] == "hourly" and api["conflictPolicy"] == "remote_wins"


@pytest.mark.parametrize(("change", "shown"), [
    ({"direction": "sideways"}, "must be one of"),
    ({"frequency": ""}, "must be one of"),
    ({"entity-1-direction": "import"}, "not supported for this pair"),
    ({"conflict_policy": "coin_flip"}, "conflict_policy"),
    ({"direction": "import\x00"}, "NUL"),
])
def test_bad_sync_input_shows_the_error_and_changes_nothing(owner, calendar, change, shown):
    # The messages follow the request's language: the English text asked for in English.
    response = owner.post(url(calendar, "sync"), {**SYNC_FORM, **change}, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 400 and 'role="alert"' in html and shown in html
    hebrew = owner.post(url(calendar, "sync"), {**SYNC_FORM, **change})
    html = hebrew.content.decode()
    assert hebrew.status_code == 400 and 'role="alert"' in html
    assert "לא נשמר דבר" in html
    assert stored(calendar).sync_settings == {}


@pytest.mark.parametrize(("change", "shown"), [
    ({"direction": "sideways"}, "חייב להיות אחד מאלה: import, export, bidirectional"),
    ({"frequency": ""}, "חייב להיות אחד מאלה: realtime, hourly, daily, manual"),
    ({"entity-1-direction": "import"}, "אינו נתמך עבור הזוג הזה"),
])
def test_bad_sync_input_is_explained_in_hebrew_by_default(owner, calendar, change, shown):
    response = owner.post(url(calendar, "sync"), {**SYNC_FORM, **change})
    html = response.content.decode()
    assert response.status_code == 400 and 'role="alert"' in html and shown in html
    assert "must be one of" not in html and "not supported for this pair" not in html
    assert stored(calendar).sync_settings == {}


def test_a_bad_time_zone_is_named_in_the_requests_language_and_changes_nothing(owner, calendar):
    # The calendar adapter's own rule: its message follows the request's language (Hebrew by default).
    english = owner.post(url(calendar, "sync"), {**SYNC_FORM, "timeZone": "Mars/Olympus"}, HTTP_ACCEPT_LANGUAGE="en")
    html = english.content.decode()
    assert english.status_code == 400 and 'role="alert"' in html and "IANA time zone" in html
    hebrew = owner.post(url(calendar, "sync"), {**SYNC_FORM, "timeZone": "Mars/Olympus"})
    html = hebrew.content.decode()
    assert hebrew.status_code == 400 and 'role="alert"' in html and "חייב להיות שם אזור זמן של IANA" in html
    assert "לא נשמר דבר" in html and "IANA time zone" not in html
    assert stored(calendar).sync_settings == {}


# --------------------------------------------------------------------------- mappings
def mapping_form(*rows: tuple[str, ...]) -> dict[str, list[str]]:
    columns = ("m-localEntity", "m-localField", "m-remoteField", "m-transform", "m-transformConfig", "m-defaultValue")
    return {c: [row[i] for row in rows] for i, c in enumerate(columns)}


CUSTOM = (
    ("meeting", "title", "summary", "custom", '{"name": "prefix", "params": {"value": "[Studio] "}}', ""),
    ("meeting", "startTime", "start.dateTime", "date_format", "", ""),
    ("meeting", "endTime", "end.dateTime", "date_format", "", ""),
    ("meeting", "location", "location", "none", "", "Studio"),
    ("meeting", "", "", "none", "", ""),  # an empty row (a row added and left blank) is ignored
)


def test_custom_mappings_are_saved_and_the_default_can_be_restored(owner, calendar):
    response = owner.post(url(calendar, "mappings"), mapping_form(*CUSTOM))
    assert response.status_code == 200, response.content.decode()
    mappings = stored(calendar).sync_settings["fieldMappings"]
    assert [m["localField"] for m in mappings] == ["title", "startTime", "endTime", "location"]
    assert mappings[0]["transformConfig"] == {"name": "prefix", "params": {"value": "[Studio] "}}
    assert mappings[3]["defaultValue"] == "Studio" and "transformConfig" not in mappings[3]
    page = owner.get(url(calendar)).content.decode()
    assert 'id="mappings-default"' not in page and "[Studio] " in page

    assert owner.post(url(calendar, "mappings"), {**mapping_form(*CUSTOM), "reset": "default"}).status_code == 200
    assert stored(calendar).sync_settings["fieldMappings"] == []


@pytest.mark.parametrize(("row", "shown"), [
    (("meeting", "title", "summary", "custom", "{not json", ""), "JSON"),
    (("meeting", "title", "summary", "custom", '{"name": "eval"}', ""), "eval"),
    (("meeting", "title", "summary", "teleport", "", ""), "transform must be one of"),
    (("meeting", "title", "", "none", "", ""), "remoteField"),
    (("payment", "amount", "total", "none", "", ""), "does not sync"),
])
def test_bad_mappings_show_the_error_keep_the_rows_and_change_nothing(owner, calendar, row, shown):
    response = owner.post(url(calendar, "mappings"), mapping_form(row), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 400 and shown in html
    assert f'value="{row[1]}"' in html  # the row as typed is still in the editor
    assert stored(calendar).sync_settings == {}


@pytest.mark.parametrize(("row", "shown", "english"), [
    (("meeting", "title", "summary", "teleport", "", ""),
     "transform חייב להיות אחד מאלה: none, date_format, currency_convert, custom, link", "transform must be one of"),
    (("meeting", "title", "summary", "custom", '{"name": "eval"}', ""),
     "transformConfig.name חייב להיות אחד מאלה:", "transformConfig.name must be one of"),
    (("meeting", "title", "", "none", "", ""), "remoteField חייב להיות נתיב לא ריק", "must be a non-empty path"),
    # the entity type by its Hebrew name, not its code (issue 14 item 6)
    (("payment", "amount", "total", "none", "", ""), "אינו מסנכרן רשומות מסוג תשלום", "does not sync"),
])
def test_bad_mappings_are_explained_in_hebrew_by_default(owner, calendar, row, shown, english):
    response = owner.post(url(calendar, "mappings"), mapping_form(row))
    html = response.content.decode()
    assert response.status_code == 400 and shown in html and english not in html
    assert f'value="{row[1]}"' in html
    assert stored(calendar).sync_settings == {}


def test_preview_runs_the_editors_rows_both_ways_and_members_may_preview_the_saved_mapping(owner, member, calendar):
    sample = {"pair": "meeting:event",
              "sample-local": '{"title": "Kickoff", "startTime": "2026-12-10T10:00:00+02:00"}',
              "sample-remote": '{"summary": "[Studio] Kickoff", "location": ""}'}
    response = owner.post(url(calendar, "preview"), {**mapping_form(*CUSTOM), **sample})
    html = response.content.decode()
    assert response.status_code == 200, html
    assert "&quot;summary&quot;: &quot;[Studio] Kickoff&quot;" in html  # to the provider, through the prefix
    assert "&quot;location&quot;: &quot;Studio&quot;" in html  # the default value fills the empty location
    assert stored(calendar).sync_settings == {}  # nothing saved

    by_member = member.post(url(calendar, "preview"), {**mapping_form(*CUSTOM), **sample})
    assert by_member.status_code == 200
    assert "&quot;summary&quot;: &quot;Kickoff&quot;" in by_member.content.decode()  # the stored (default) mapping

    bad = owner.post(url(calendar, "preview"), {**sample, "sample-local": "[1, 2"})
    assert bad.status_code == 400 and "JSON" in bad.content.decode()
    wrong_pair = owner.post(url(calendar, "preview"), {**sample, "pair": "payment:event"})
    assert wrong_pair.status_code == 400


# --------------------------------------------------------------------------- history and errors
def log(integration, *, action="sync", status="success", **extra) -> IntegrationLog:
    with tenant_scope(integration.tenant_id):
        return IntegrationLog.objects.create(tenant_id=integration.tenant_id, integration=integration, action=action,
                                             direction="incoming", status=status, **extra)


def test_history_filters_by_action_and_status_and_pages(owner, calendar):
    for n in range(12):
        log(calendar, summary={"total": n, "created": n, "updated": 0, "deleted": 0, "skipped": 0, "failed": 0})
    log(calendar, status="partial", summary={"created": 1, "failed": 1},
        failed_items=[{"entityId": "e1", "entityName": "Broken event", "error": "no start time"}])
    log(calendar, action="test", status="failed", error_message="HTTP 401")

    first = owner.get(url(calendar, "history")).content.decode()
    assert first.count('class="log-row"') == 10 and "Older" not in first and "ישנים יותר" in first
    second = owner.get(url(calendar, "history") + "?page=2").content.decode()
    assert second.count('class="log-row"') == 4
    partial = owner.get(url(calendar, "history") + "?status=partial").content.decode()
    assert partial.count('class="log-row"') == 1 and "Broken event" in partial and "no start time" in partial
    tests = owner.get(url(calendar, "history") + "?action=test").content.decode()
    assert tests.count('class="log-row"') == 1 and "HTTP 401" in tests
    everything = owner.get(url(calendar, "history") + "?action=&status=&page=1")  # the form's "all"
    assert everything.status_code == 200 and everything.content.decode().count('class="log-row"') == 10
    assert owner.get(url(calendar, "history") + "?action=dance").status_code == 400
    assert owner.get(url(calendar, "history") + "?page=zero").status_code == 400


def test_errors_section_shows_the_last_error_and_failed_items_with_retry_and_reconnect(owner, calendar):
    log(calendar, status="partial", failed_items=[{"entityId": "e1", "entityName": "Broken event",
                                                   "error": "no start time"}])
    with tenant_scope(calendar.tenant_id):
        Integration.objects.filter(pk=calendar.pk).update(status="expired", last_error="invalid_grant")
    html = owner.get(url(calendar)).content.decode()
    errors = html[html.index('id="errors"'):]
    assert "invalid_grant" in errors and "Broken event" in errors and "no start time" in errors
    assert f'hx-post="/integrations/{calendar.pk}/retry"' in errors
    assert 'href="/api/integrations/connect/google_calendar"' in errors  # reconnect


# --------------------------------------------------------------------------- actions
def test_sync_now_starts_one_run_and_a_second_is_409(owner, calendar):
    owner.post(url(calendar, "sync"), SYNC_FORM)
    started = owner.post(url(calendar, "sync-now"))
    assert started.status_code == 202
    with tenant_scope(calendar.tenant_id):
        (run,) = IntegrationLog.objects.filter(integration=calendar, status="running")
    assert f'data-log-id="{run.pk}"' in started.content.decode()
    again = owner.post(url(calendar, "sync-now"))
    assert again.status_code == 409 and f'data-log-id="{run.pk}"' in again.content.decode()


def test_sync_now_without_sync_settings_is_a_400_with_the_reason(owner, calendar):
    response = owner.post(url(calendar, "sync-now"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "no enabled entity pair" in response.content.decode()
    hebrew = owner.post(url(calendar, "sync-now"))  # the reason in the page's language (Hebrew by default)
    assert hebrew.status_code == 400 and "אין זוג רשומות פעיל" in hebrew.content.decode()


def test_disconnect_deletes_and_sends_the_browser_to_the_integrations_page(owner, calendar):
    response = owner.post(url(calendar, "disconnect"))
    assert response.status_code == 200 and response["HX-Redirect"] == "/integrations"
    with tenant_scope(calendar.tenant_id):
        assert not Integration.objects.filter(pk=calendar.pk).exists()


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_every_providers_settings_page_renders_and_previews_without_a_500(alice, owner, provider):
    with tenant_scope(alice.tenant.id):
        integration = Integration.objects.create(tenant=alice.tenant, provider=provider, name=provider,
                                                 status="connected", connected_by=alice.user)
    page = owner.get(url(integration))
    assert page.status_code == 200 and 'id="mappings"' in page.content.decode()
    pairs = get_provider(provider).entity_pairs
    pair = f"{pairs[0].local}:{pairs[0].remote}" if pairs else ""
    preview = owner.post(url(integration, "preview"), {"pair": pair, "sample-local": "{}", "sample-remote": "{}"})
    assert preview.status_code == (200 if pairs else 400)
    assert owner.post(url(integration, "sync"), {"direction": "import", "frequency": "manual"}).status_code in (200, 400)
