"""What every studio page stands on, in a real browser (issue 14 items 5, 6, 9): the
integrations page passes axe-core and has no untranslated word in Hebrew, fits a 360 px
screen, and an event published with core.realtime.publish reaches the open page as a
"hub:*" DOM event over a real socket (the ASGI app served by uvicorn, Redis channel layer)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from core.realtime import publish
from tests.support.browser import (
    assert_accessible,
    assert_translated,
    has_horizontal_scroll,
    screenshot,
)

pytestmark = pytest.mark.browser


def test_integrations_page_is_accessible_and_translated_in_hebrew(studio, logged_in):
    page = logged_in("owner").new_page()
    page.goto("/integrations")
    assert page.get_by_role("heading", level=1).inner_text() == "אינטגרציות — סטודיו כהן"
    assert_translated(page)
    assert_accessible(page)
    screenshot(page, "integrations")


def test_integrations_page_in_english(studio, logged_in):
    page = logged_in("owner", lang="en").new_page()
    page.goto("/integrations")
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert page.get_by_role("heading", level=1).inner_text() == "Integrations — סטודיו כהן"
    assert_accessible(page)
    screenshot(page, "integrations")


@pytest.mark.parametrize("path", ["/integrations", "/login"])
def test_pages_fit_a_360px_screen(studio, logged_in, path):
    page = logged_in("owner" if path != "/login" else None, viewport={"width": 360, "height": 780}).new_page()
    page.goto(path)
    assert page.evaluate("() => window.innerWidth") == 360
    assert not has_horizontal_scroll(page), page.evaluate(
        "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 360"
        " || e.getBoundingClientRect().left < 0).slice(0, 5).map(e => e.outerHTML.slice(0, 120))")
    screenshot(page, path.strip("/") + "-360px")


def _publish_from_another_thread(tenant_id, event_type: str, data: dict) -> None:
    """Playwright's loop runs in the test's thread, where Django refuses the ORM (on_commit)."""
    def send():
        try:
            publish(tenant_id, event_type, data)
        finally:
            connections.close_all()

    thread = threading.Thread(target=send)
    thread.start()
    thread.join(10)


def test_a_published_event_reaches_the_open_page_as_a_dom_event(studio, asgi_hub, logged_in):
    page = logged_in("owner", base_url=asgi_hub).new_page()
    page.goto("/integrations")
    page.wait_for_selector("body[data-live=open]", timeout=15000)
    page.evaluate("""() => {
        window.hubHeard = [];
        document.body.addEventListener('hub:integration-status_changed', e => window.hubHeard.push(e.detail));
        document.body.addEventListener('hub', e => window.hubHeard.push({any: e.detail.type}));
    }""")

    _publish_from_another_thread(studio.tenant.id, "integration.status_changed",
                                 {"integrationId": "x-1", "status": "error"})
    page.wait_for_function("() => window.hubHeard.length >= 2", timeout=15000)
    heard = page.evaluate("() => window.hubHeard")
    typed = [h for h in heard if "type" in h]
    assert typed[0]["type"] == "integration.status_changed"
    assert typed[0]["data"] == {"integrationId": "x-1", "status": "error"}
    assert {"any": "integration.status_changed"} in heard


@pytest.fixture
def other_studio(transactional_db):
    from tests.support.factories import fresh_persona

    return fresh_persona("Other Studio")


def test_another_tenants_event_does_not_reach_the_page(studio, other_studio, asgi_hub, logged_in):
    other = other_studio
    page = logged_in("owner", base_url=asgi_hub).new_page()
    page.goto("/integrations")
    page.wait_for_selector("body[data-live=open]", timeout=15000)
    page.evaluate("() => { window.hubHeard = []; document.body.addEventListener('hub', e => window.hubHeard.push(e.detail.type)); }")
    _publish_from_another_thread(other.tenant.id, "integration.status_changed", {"integrationId": "theirs"})
    _publish_from_another_thread(studio.tenant.id, "integration.status_changed", {"integrationId": "ours"})
    page.wait_for_function("() => window.hubHeard.length >= 1", timeout=15000)
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.hubHeard") == ["integration.status_changed"]
