"""The maturity note in a real browser (issue 15): on /integrations a partly supported card's
"What is not verified" disclosure opens by mouse and keyboard and shows the note in Hebrew,
right to left, its identifiers as left-to-right code; with every disclosure open the page has
no serious/critical axe violation, no untranslated word and no horizontal scroll on a phone.
The same on a partly supported integration's settings page, and in English.

Database work (the integration) happens in fixtures listed before ``logged_in``."""

from __future__ import annotations

import pytest

from core.tenant_context import tenant_scope
from tests.support.browser import assert_accessible, assert_translated, has_horizontal_scroll
from tests.support.oauth import make_oauth_integration

pytestmark = pytest.mark.browser

# Latin words the page shows outside the notes (see test_catalog_browser.py): the category names
# kept in Latin letters, and the products named in the catalog's Hebrew descriptions.
PAGE_WORDS = ("Webhooks", "CRM", "SMS", "Microsoft", "Graph", "SharePoint", "WizCloud", "Low", "Profile",
              "Audience", "OData", "REST")
CANVA_HE = "נבדק רק מול נתוני בדיקה במבנה הדוגמאות שבתיעוד"
HUBSPOT_HE = "אנשי קשר מסונכרנים עם לקוחות בשני הכיוונים"


@pytest.fixture
def hubspot(studio, settings):
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL
    integration = make_oauth_integration(studio.owner, "hubspot", access="hubspot-access")
    with tenant_scope(studio.tenant.id):
        integration.name = "HubSpot"
        integration.save()
    return integration


def test_the_cards_note_opens_in_hebrew_and_the_page_stays_translated_and_accessible(studio, logged_in):
    from playwright.sync_api import expect

    page = logged_in("owner").new_page()
    page.goto("/integrations")
    card = page.get_by_role("article", name="Canva")
    note = card.locator(".maturity-note p")
    expect(note).to_be_hidden()  # closed: the card stays short
    card.get_by_text("מה לא אומת").click()
    expect(note).to_be_visible()
    expect(note).to_contain_text(CANVA_HE)
    assert note.evaluate("el => getComputedStyle(el).direction") == "rtl"
    code = note.locator("code", has_text="Connect API")
    expect(code).to_be_visible()
    assert code.evaluate("el => getComputedStyle(el).direction") == "ltr"

    # the keyboard opens another one (a <summary> is a button)
    summary = page.locator("#provider-priority-maturity summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#provider-priority-maturity")).to_have_attribute("open", "")
    expect(page.locator("#provider-priority-maturity p")).to_contain_text("פריוריטי אינה חותמת על דבר")

    # every note open: translated, accessible
    page.evaluate("() => document.querySelectorAll('details.maturity-note').forEach(d => d.open = true)")
    assert page.locator("details.maturity-note[open] p").count() == page.locator("details.maturity-note").count() > 10
    assert_accessible(page)
    assert_translated(page, allow=PAGE_WORDS)


def test_open_notes_fit_a_phone(studio, logged_in):
    page = logged_in("owner", viewport={"width": 360, "height": 800}).new_page()
    page.goto("/integrations")
    page.evaluate("() => document.querySelectorAll('details.maturity-note').forEach(d => d.open = true)")
    assert page.locator("details.maturity-note[open] p").count() > 10
    assert not has_horizontal_scroll(page)  # long identifiers wrap inside the card


def test_the_cards_note_is_english_on_the_english_page(studio, logged_in):
    from playwright.sync_api import expect

    page = logged_in("owner", lang="en").new_page()
    page.goto("/integrations")
    card = page.get_by_role("article", name="Canva")
    card.get_by_text("What is not verified").click()
    expect(card.locator(".maturity-note p")).to_contain_text("Checked only against fixtures shaped like the Connect API")
    assert_accessible(page)


def test_the_settings_page_of_a_partly_supported_integration_shows_its_note(hubspot, studio, logged_in):
    from playwright.sync_api import expect

    page = logged_in("owner").new_page()
    page.goto(f"/integrations/{hubspot.pk}")
    details = page.locator("#maturity-note")
    expect(details.locator("summary")).to_have_text("תמיכה חלקית: מה לא אומת")
    details.locator("summary").click()
    expect(details.locator("p")).to_contain_text(HUBSPOT_HE)
    assert_accessible(page)
    assert_translated(page, allow=("company",))  # HubSpot's object, named as HubSpot names it (sync section)
