"""The webhook builder's log pages back in Debian's chromium (issue 14): 120 received requests,
the newest 50 shown, "older" twice reaches the oldest, the status filter is kept while paging,
"newest" comes back. Hebrew, axe 0 serious/critical, no English word. A live event keeps an older
page in place (and says newer entries arrived) and refreshes the newest one."""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect

from tests.support.browser import assert_accessible, assert_translated, screenshot
from tests.support.webhooks import make_webhook
from tests.webhooks.pages.test_builder_browser import TECHNICAL
from tests.webhooks.pages.test_log_paging import add_logs

pytestmark = pytest.mark.browser


@pytest.fixture
def hook_with_logs(studio):
    hook, _secret = make_webhook(studio.owner)
    ids = add_logs(studio.owner, hook, 120)
    return hook, ids


def test_older_pages_of_the_log_keep_the_filter(hook_with_logs, logged_in):
    hook, ids = hook_with_logs
    page = logged_in("owner").new_page()
    page.goto(f"/webhooks/incoming/{hook.pk}")
    rows = page.locator("#log-rows .log-row")
    rows.first.wait_for()
    assert rows.count() == 50 and rows.first.get_attribute("data-log-id") == ids[0]
    page.get_by_role("button", name="ישנים יותר").click()
    page.locator(f'#log-rows .log-row[data-log-id="{ids[50]}"]').wait_for()
    assert rows.count() == 50
    assert_translated(page, allow=TECHNICAL | {"Hook"})  # the webhook is named Hook
    assert_accessible(page)
    screenshot(page, "webhook-log-older")
    page.get_by_role("button", name="ישנים יותר").click()
    page.locator(f'#log-rows .log-row[data-log-id="{ids[100]}"]').wait_for()
    assert rows.count() == 20
    assert page.get_by_role("button", name="ישנים יותר").count() == 0
    page.get_by_role("button", name="החדשים ביותר").click()
    page.locator(f'#log-rows .log-row[data-log-id="{ids[0]}"]').wait_for()

    # filtered: failed only (every second row), paged with the filter kept
    failed = ids[1::2]
    page.locator("#log-section form.filters select[name=status]").select_option("failed")
    expect(page.locator(f'#log-rows .log-row[data-log-id="{ids[0]}"]')).to_have_count(0)  # the filter applied
    expect(rows).to_have_count(50)
    page.get_by_role("button", name="ישנים יותר").click()
    page.locator(f'#log-rows .log-row[data-log-id="{failed[50]}"]').wait_for()
    expect(rows).to_have_count(10)
    assert all(row.get_attribute("data-log-id") in failed for row in rows.all())


def _arrive_in_another_thread(studio, hook) -> str:
    """What the incoming pipeline does for a processed request: a log row, then the live event
    (core.realtime.publish, after commit) to the studio's sockets; in a thread of its own, as
    Playwright's loop owns this one. Returns the new row's id."""
    from django.db import connection, transaction

    from core.realtime import publish
    from core.tenant_context import tenant_scope

    made: list[str] = []

    def run():
        with tenant_scope(studio.tenant.id), transaction.atomic():
            made.extend(add_logs(studio.owner, hook, 1))
            publish(studio.tenant.id, "webhook.received", {"webhookId": str(hook.pk), "webhookName": hook.name,
                                                           "status": "success", "outcome": "success",
                                                           "logId": made[0]})
        connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(20)
    assert made, "the row was not written"
    return made[0]


def test_a_live_event_keeps_an_older_page_and_refreshes_the_newest(hook_with_logs, studio, asgi_hub, logged_in):
    """A request arriving while the user reads an older page of the log (a real WebSocket event
    through static/js/live.js and webhooks.js's hub-refresh) leaves that page in place and says
    newer entries arrived; on the newest page it shows the new row."""
    hook, ids = hook_with_logs
    page = logged_in("owner", base_url=asgi_hub).new_page()
    page.goto(f"/webhooks/incoming/{hook.pk}")
    rows = page.locator("#log-rows .log-row")
    rows.first.wait_for()
    page.wait_for_function("document.body.dataset.live === 'open'", timeout=15000)
    page.get_by_role("button", name="ישנים יותר").click()
    page.locator(f'#log-rows .log-row[data-log-id="{ids[50]}"]').wait_for()
    page.evaluate("""() => {
        window.__refreshes = 0;
        document.body.addEventListener("htmx:afterSwap", e => { if (e.detail.target.id === "log-rows") window.__refreshes++; });
    }""")

    first = _arrive_in_another_thread(studio, hook)
    notice = page.locator("#log-new")
    expect(notice).to_be_visible(timeout=15000)
    expect(notice).to_contain_text("רשומות חדשות הגיעו ליומן")
    assert page.evaluate("window.__refreshes") >= 1  # the list did refresh, with its own page
    expect(rows).to_have_count(50)
    assert rows.first.get_attribute("data-log-id") == ids[50]  # still the older page the user was on
    expect(page.locator(f'#log-rows .log-row[data-log-id="{first}"]')).to_have_count(0)
    assert_translated(page, allow=TECHNICAL | {"Hook"})
    assert_accessible(page)

    # the notice's button goes to the newest rows, the new one first
    notice.get_by_role("button", name="הצג את החדשות ביותר").click()
    page.locator(f'#log-rows .log-row[data-log-id="{first}"]').wait_for()
    assert rows.first.get_attribute("data-log-id") == first
    expect(page.locator("#log-new")).to_have_count(0)

    # on the newest page a live event shows the new row at the top
    second = _arrive_in_another_thread(studio, hook)
    expect(rows.first).to_have_attribute("data-log-id", second, timeout=15000)
    expect(page.locator("#log-new")).to_have_count(0)
    assert rows.nth(1).get_attribute("data-log-id") == first
