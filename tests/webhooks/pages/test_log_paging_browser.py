"""The webhook builder's log pages back in Debian's chromium (issue 14): 120 received requests,
the newest 50 shown, "older" twice reaches the oldest, the status filter is kept while paging,
"newest" comes back. Hebrew, axe 0 serious/critical, no English word."""

from __future__ import annotations

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
