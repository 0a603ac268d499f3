"""The integration settings page in Debian's chromium, as a studio owner clicks it (issue 14):
set up Google Calendar sync with a custom mapping, preview it, run "sync now" and watch the
progress reach done over /ws/events; a member sees the page read-only. The hub is the real
ASGI application (``asgi_hub``: pages and /ws/events), the run is executed by the real
Celery worker on the sync queue (``sync_worker``), Google is the fake Calendar API v3
(tests/support/fakes/google_calendar.py) reached through the hub's ProviderClient."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.tenant_context import tenant_scope
from entities.models import Meeting
from integrations.models import Integration
from integrations.services import provider_app_set
from tests.support.browser import assert_accessible, assert_translated, has_horizontal_scroll, screenshot
from tests.support.oauth import make_oauth_integration

pytestmark = pytest.mark.browser

CAL = "studio@example.com"
#: The mapping's field names and transform settings are the API's identifiers; a member sees them as text.
FIELD_NAMES = ("title", "summary", "description", "location", "attendees", "email", "dueDate", "startTime",
               "endTime", "start", "end", "dateTime", "date", "format")


def off_loop(fn):
    """Run ``fn`` (ORM work) in another thread: Playwright's sync API runs an event loop in
    this one, where Django refuses the ORM."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result()


@pytest.fixture
def calendar(studio, google_calendar_fake, limiter_on_test_redis) -> Integration:
    """Google Calendar connected for the studio, its calendar discovered, sync not yet set up;
    three events waiting in Google (one without a location, one titled with the prefix). The
    rate limiter is on the test Redis, its buckets emptied by the autouse ``_fresh_provider_limits``."""
    provider_app_set(provider_id="google_calendar", client_id="gid.apps.googleusercontent.com", client_secret="gs",
                     api_base_url=google_calendar_fake.base_url)
    google_calendar_fake.add_calendar(CAL, "Studio", primary=True)
    for n, (title, location) in enumerate((("[AS] Kickoff", "Tel Aviv"), ("Site visit", ""), ("Review", "Haifa"))):
        google_calendar_fake.put_event(CAL, summary=title, location=location,
                                       start={"dateTime": f"2026-12-1{n}T10:00:00+02:00"},
                                       end={"dateTime": f"2026-12-1{n}T11:00:00+02:00"})
    integration = make_oauth_integration(studio.owner, "google_calendar", access="ya29.a0AfH6SMB")
    with tenant_scope(studio.tenant.id):
        integration.name = "יומן Google"
        integration.settings = {"calendars": [{"calendarId": CAL, "calendarName": "Studio", "color": "#9fe1e7",
                                               "syncEnabled": False}],
                                "syncMeetings": True, "syncTasks": False, "syncDeliveries": False,
                                "autoCreateEvents": True, "autoCreateMeetings": True}
        integration.save()
    return integration


def test_owner_sets_up_calendar_sync_with_a_custom_mapping_and_watches_sync_now_reach_done(
    calendar, asgi_hub, sync_worker, logged_in
):
    page = logged_in("owner", base_url=asgi_hub).new_page()
    page.goto(f"/integrations/{calendar.pk}")
    page.wait_for_function("document.body.dataset.live === 'open'")  # /ws/events is connected

    # (2) sync settings: on, both ways, manual; meetings <-> events; the discovered calendar
    page.get_by_label("סנכרון מופעל").check()
    page.get_by_label("כיוון", exact=True).select_option(label="דו-כיווני")
    page.get_by_label("תדירות").select_option(label="ידני בלבד")
    page.get_by_label("סנכרון פגישה", exact=True).check()
    page.get_by_label("כיוון עבור פגישה").select_option(label="דו-כיווני")
    page.get_by_label("Studio", exact=True).check()
    page.get_by_role("button", name="שמור הגדרות סנכרון").click()
    page.get_by_text("הגדרות הסנכרון נשמרו.").wait_for()

    # (3) a custom mapping: the title loses the "[AS] " prefix on import (a custom function),
    # an empty location becomes "הסטודיו" (a default value); previewed before it is saved
    rows = page.locator("#mapping-rows tr")
    title = rows.filter(has=page.locator('input[name="m-localField"][value="title"]')).first  # the meeting's
    title.get_by_label("המרה", exact=True).select_option(label="פונקציה מותאמת")
    title.get_by_label("הגדרות ההמרה (JSON)").fill('{"name": "prefix", "params": {"value": "[AS] "}}')
    location = rows.filter(has=page.locator('input[name="m-localField"][value="location"]')).first
    location.get_by_label("ערך ברירת מחדל").fill("הסטודיו")
    page.get_by_label("רשומה לדוגמה מהשירות החיצוני (JSON)").fill(json.dumps(
        {"summary": "[AS] Kickoff", "location": "", "start": {"dateTime": "2026-12-10T10:00:00+02:00"}}))
    page.get_by_role("button", name="הרץ תצוגה מקדימה").click()
    to_local = json.loads(page.locator("#preview-to-local").inner_text())
    assert (to_local["title"], to_local["location"]) == ("Kickoff", "הסטודיו")
    to_remote = json.loads(page.locator("#preview-to-remote").inner_text())
    assert to_remote["summary"] == "[AS] ביקור באתר"  # the sample meeting, prefixed on export
    page.get_by_role("button", name="שמור מיפוי").click()
    page.get_by_text("מיפוי השדות נשמר.").wait_for()

    # sync now: the real worker runs it; progress arrives over /ws/events until done
    page.get_by_role("button", name="סנכרן עכשיו").click()
    page.wait_for_selector("#run-progress[data-state=done]", timeout=60_000)
    run = page.locator("#run-progress")
    assert run.get_attribute("role") == "status"
    assert int(run.get_attribute("data-progress-events") or 0) >= 1  # sync_progress seen live
    assert page.get_by_role("progressbar", name="התקדמות הסנכרון").is_visible()
    done_text = run.inner_text()
    assert "הסנכרון הסתיים" in done_text and "נוצרו 3" in done_text
    assert page.locator("#live-region").inner_text() == page.locator("#run-progress .run-text").inner_text()
    # (4) the history refreshed itself with the run, its summary in words
    page.locator("#history .log-row", has_text="הצליח").first.wait_for()
    assert "סנכרון" in page.locator("#history .log-row").first.inner_text()  # action "sync": both ways
    assert "נוצרו 3" in page.locator("#history .log-row").first.inner_text()

    def imported():
        with tenant_scope(calendar.tenant_id):
            return {m.title: m.location for m in Meeting.objects.filter(tenant_id=calendar.tenant_id)}

    assert off_loop(imported) == {"Kickoff": "Tel Aviv", "Site visit": "הסטודיו", "Review": "Haifa"}

    def stored():
        with tenant_scope(calendar.tenant_id):
            return Integration.objects.get(pk=calendar.pk)

    saved = off_loop(stored)
    assert saved.sync_settings["entities"][0] == {"localEntity": "meeting", "remoteEntity": "event", "enabled": True,
                                                  "direction": "bidirectional"}
    assert saved.sync_settings["enabled"] is True and saved.settings["calendars"][0]["syncEnabled"] is True
    assert saved.sync_settings["fieldMappings"][0]["transform"] == "custom"

    assert_accessible(page)
    assert_translated(page)
    screenshot(page, "integration-settings")

    english = logged_in("owner", lang="en", base_url=asgi_hub).new_page()
    english.goto(f"/integrations/{calendar.pk}")
    assert english.locator("html").get_attribute("dir") == "ltr"
    assert english.get_by_role("heading", name="Field mappings").is_visible()
    assert_accessible(english)
    screenshot(english, "integration-settings")


def test_a_member_sees_the_settings_page_read_only(calendar, asgi_hub, logged_in):
    page = logged_in("member", base_url=asgi_hub).new_page()
    page.goto(f"/integrations/{calendar.pk}")
    for name in ("סנכרן עכשיו", "בדיקת חיבור", "ניתוק", "שמור הגדרות סנכרון", "שמור מיפוי", "הוסף מיפוי"):
        assert page.get_by_role("button", name=name).count() == 0, name
    assert page.get_by_label("סנכרון מופעל").is_disabled()
    assert page.get_by_label("תדירות").is_disabled()
    assert page.get_by_role("heading", name="מיפוי שדות").is_visible()
    assert page.get_by_role("cell", name="start.dateTime").first.is_visible()  # mappings as text
    assert page.locator("#managers-only").is_visible()
    # the preview changes nothing, so a member may run it (on the saved mapping)
    page.get_by_role("button", name="הרץ תצוגה מקדימה").click()
    assert json.loads(page.locator("#preview-to-local").inner_text())["title"] == "ביקור באתר"
    assert_accessible(page)
    assert_translated(page, allow=FIELD_NAMES)
    screenshot(page, "integration-settings-member")

    phone = logged_in("member", base_url=asgi_hub, viewport={"width": 360, "height": 800}).new_page()
    phone.goto(f"/integrations/{calendar.pk}")
    assert not has_horizontal_scroll(phone)  # wide tables scroll inside their own box


def test_a_failed_runs_live_banner_says_the_error_in_the_readers_language(calendar, asgi_hub, logged_in):
    """The integration.sync_failed event keeps the seed's shape (its ``error`` is the English
    text, C9): the page says the run's error as the server says it in the reader's language,
    never the event's English (issue 14 item 6)."""
    from core.words import words
    from integrations.providers.adapter import CursorInvalid
    from integrations.sync.runs import RunReport, run_finish, run_start

    def fail_a_run():
        with tenant_scope(calendar.tenant_id):
            entry = run_start(integration=Integration.objects.get(pk=calendar.pk), direction="import", options={})
            run_finish(entry=entry, report=RunReport(),
                       error=CursorInvalid(words("the API refused the page cursor (HTTP %(status)s)", status=410)))

    pages = {}
    for lang in ("he", "en"):
        pages[lang] = logged_in("owner", lang=lang, base_url=asgi_hub).new_page()
        pages[lang].goto(f"/integrations/{calendar.pk}")
        pages[lang].wait_for_function("document.body.dataset.live === 'open'")
    off_loop(fail_a_run)

    hebrew, english = pages["he"], pages["en"]
    hebrew.get_by_role("status").filter(has_text="הסנכרון נכשל — ה-API דחה את סמן הדף (HTTP 410)").wait_for()
    english.get_by_role("status").filter(
        has_text="Sync failed — the API refused the page cursor (HTTP 410)").wait_for()
    run = hebrew.locator("#run-progress")
    assert run.get_attribute("data-state") == "failed"
    assert "refused" not in run.inner_text()
    assert hebrew.locator("#live-region").inner_text() == hebrew.locator("#run-progress .run-text").inner_text()
    # the errors card refreshed itself with the same words
    hebrew.locator("#errors").get_by_text("ה-API דחה את סמן הדף (HTTP 410)").wait_for()
    assert_translated(hebrew)
