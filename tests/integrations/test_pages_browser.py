"""Tenant-facing pages in a real browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import shutil

import pytest
from django.test import Client

from tests.support.browser import ARGS, CHROMIUM
from tests.support.factories import make_persona

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    assert shutil.which("chromium"), "Debian's chromium is required (make install installs it)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(locale="he-IL")
        yield context
        context.close()
        browser.close()


@pytest.fixture
def session_cookie(live_server, transactional_db) -> dict:
    """Database work happens before Playwright starts its event loop in this thread."""
    persona = make_persona("סטודיו כהן", "cohen@example.com")
    client = Client()
    client.force_login(persona.user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}


def test_integrations_page_is_hebrew_rtl_with_empty_state_and_switches_to_english(
    live_server, session_cookie, browser_page
):
    browser_page.add_cookies([session_cookie])
    page = browser_page.new_page()

    page.goto(f"{live_server.url}/integrations")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("h1").inner_text() == "אינטגרציות — סטודיו כהן"
    assert page.locator("#empty-state h2").inner_text() == "אין אינטגרציות מחוברות"
    assert page.locator("#empty-state .cta").inner_text() == "הוסף אינטגרציה"
    assert page.get_by_text("Google Calendar").count() >= 1 or page.get_by_text("יומן Google").count() >= 1
    assert page.locator(".status.disconnected").first.inner_text() == "לא מחובר"

    # The language switcher submits on change (a real form post with CSRF).
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert page.locator("#empty-state h2").inner_text() == "No integrations connected"


@pytest.fixture
def connected_hubspot(live_server, transactional_db, hubspot_app, oauth_server) -> tuple[dict, str, dict]:
    """A HubSpot connection whose provider is the local OAuth server (tests/support/oauth_server),
    holding a real grant; database work happens before Playwright starts its event loop."""
    from tests.support.oauth import make_oauth_integration

    grant = oauth_server.issue_tokens()
    persona = make_persona("סטודיו לוי", "levi@example.com")
    integration = make_oauth_integration(persona, "hubspot", access=grant["access_token"], refresh=grant["refresh_token"])
    client = Client()
    client.force_login(persona.user)
    cookie = {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}
    return cookie, str(integration.id), grant


def test_settings_page_tests_the_connection_and_disconnects(live_server, connected_hubspot, browser_page, oauth_server):
    """Buttons call the API with the session + CSRF; the provider calls go through the real
    client to the local OAuth server: the test is a real authenticated call, the
    disconnect a real revocation of both tokens."""
    cookie, integration_id, grant = connected_hubspot
    browser_page.add_cookies([cookie])
    page = browser_page.new_page()
    before = oauth_server.stats()

    page.goto(f"{live_server.url}/integrations/{integration_id}")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.click("#test-connection")
    page.wait_for_function("document.getElementById('action-result').textContent.length > 2")
    assert page.locator("#action-result").inner_text().startswith("החיבור תקין")
    tested = oauth_server.stats()
    assert tested.get("resource_200", 0) == before.get("resource_200", 0) + 1  # the provider was really asked

    page.on("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("#disconnect")
    assert page.url.rstrip("/").endswith("/integrations")
    assert page.locator("#empty-state").count() == 1  # nothing connected any more
    assert oauth_server.stats().get("revoke", 0) == before.get("revoke", 0) + 2  # refresh token, then access token
    assert not oauth_server.accepts(grant["access_token"])
