"""The messaging rules and opt-outs page in Debian's chromium, as a studio owner clicks it
(issue 14): from the Twilio integration's settings page to its messaging page; add a reminder
rule, edit it, remove it; set quiet hours; stop messages to a phone number and allow it again;
the recent messages with their delivery status. Hebrew, right-to-left, axe 0 serious/critical,
no English word; a member sees it read-only. Screenshots in he and en."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.utils import timezone

from core.tenant_context import tenant_scope
from entities.models import Message
from integrations.models import Integration, MessageDispatch
from tests.support.browser import assert_accessible, assert_translated, has_horizontal_scroll, screenshot
from tests.support.messaging import connect_messaging

pytestmark = pytest.mark.browser

RULE = {"id": "meeting-reminder", "enabled": True, "entityType": "meeting", "minutesBefore": 1440,
        "recipients": "attendees", "body": "תזכורת: {{entity.title}}"}


@pytest.fixture
def twilio(studio) -> Integration:
    integration = connect_messaging(studio.owner, "twilio", rules=[RULE])
    with tenant_scope(studio.tenant.id):
        integration.name = "הודעות SMS"
        integration.save(update_fields=["name"])
        message = Message.objects.create(tenant=studio.tenant, channel="sms", direction="outbound",
                                         to_address="+972502222222", body="תזכורת", status="delivered")
        MessageDispatch.objects.create(tenant=studio.tenant, integration=integration, rule_id="meeting-reminder",
                                       entity_type="meeting", entity_id="7a1f6e36-58d5-4c5a-9f55-0b6f1f4c2a10",
                                       occurrence="o", recipient="+972502222222", due_at=timezone.now(),
                                       status="sent", message=message)
    return integration


def test_owner_manages_rules_quiet_hours_and_opt_outs(twilio, logged_in):
    page = logged_in("owner").new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"/integrations/{twilio.pk}")
    page.get_by_role("link", name="כללי הודעות והסרות מרשימת התפוצה").click()
    page.get_by_role("heading", name="כללי הודעות והסרות מרשימת התפוצה", level=1).wait_for()
    rules = page.locator("#rules")
    assert rules.get_by_text("1440 דקות לפני").is_visible()
    dispatches = page.locator("#dispatches")
    assert dispatches.get_by_text("נמסרה").is_visible()
    assert_translated(page)
    assert_accessible(page)

    # add a rule: a payment that became paid thanks the client
    page.get_by_role("button", name="הוספת כלל").click()
    page.get_by_label("רשומה", exact=True).select_option(label="תשלום")
    page.get_by_label("שליחה", exact=True).select_option(label="כשמשהו קורה")
    page.get_by_label("אירוע", exact=True).select_option(label="הסטטוס השתנה")
    page.get_by_label("רק כשהסטטוס הופך ל").fill("paid")
    page.get_by_label("למי", exact=True).select_option(label="הלקוח")
    page.get_by_label("נוסח ההודעה").fill("התשלום התקבל, תודה!")
    assert_accessible(page)
    page.get_by_role("button", name="שמירת הכלל").click()
    page.get_by_text("הכלל נשמר.").wait_for()
    assert page.locator(".rule-row").count() == 2
    screenshot(page, "messaging")

    # a reminder that is not a number is refused, in words
    page.get_by_role("button", name="עריכה כלל 2").click()
    page.get_by_label("שליחה", exact=True).select_option(label="תזכורת לפני מועד")
    page.get_by_label("דקות לפני").fill("")
    page.get_by_role("button", name="שמירת הכלל").click()
    page.get_by_role("alert").wait_for()
    assert "יש להזין מספר שלם" in page.get_by_role("alert").inner_text()
    page.get_by_label("דקות לפני").fill("60")
    page.get_by_role("button", name="שמירת הכלל").click()
    page.get_by_text("הכלל נשמר.").wait_for()
    assert rules.get_by_text("60 דקות לפני").is_visible()

    # remove it
    page.get_by_role("button", name="להסיר כלל 2").click()
    page.get_by_text("הכלל הוסר.").wait_for()
    assert page.locator(".rule-row").count() == 1

    # quiet hours
    page.get_by_label("הפעלת שעות שקטות").check()
    page.get_by_label("מתחילות בשעה").fill("21:30")
    page.get_by_label("מסתיימות בשעה").fill("07:00")
    page.get_by_role("button", name="שמירת שעות שקטות").click()
    page.get_by_text("השעות השקטות נשמרו.").wait_for()

    # opt-outs: a national number is stored in E.164
    page.get_by_label("מספר טלפון").fill("050-123 4567")
    page.get_by_role("button", name="הפסק הודעות לכתובת זו").click()
    page.locator(".opt-out-row").first.wait_for()
    assert "+972501234567" in page.locator(".opt-out-row").inner_text()
    assert "נוסף על ידי הסטודיו" in page.locator(".opt-out-row").inner_text()
    assert_translated(page)
    assert_accessible(page)
    screenshot(page, "messaging-opt-outs")
    page.locator(".opt-out-row").get_by_role("button", name="אפשר שוב").click()
    page.get_by_text("הכתובת יכולה לקבל הודעות שוב.").wait_for()
    assert page.locator(".opt-out-row").count() == 0

    def read():
        try:
            with tenant_scope(twilio.tenant_id):
                return Integration.objects.get(pk=twilio.pk).settings
        finally:
            connection.close()  # this thread's connection would keep the test database open

    with ThreadPoolExecutor(1) as pool:  # the ORM, off Playwright's event loop
        stored = pool.submit(read).result()
    assert stored["messageRules"] == [RULE]
    assert stored["quietHours"] == {"start": "21:30", "end": "07:00", "timezone": "Asia/Jerusalem"}


def test_member_sees_it_read_only_and_english_and_a_phone_layout(twilio, logged_in):
    page = logged_in("member").new_page()
    page.goto(f"/integrations/{twilio.pk}/messaging")
    assert page.get_by_role("button", name="הוספת כלל").count() == 0
    assert page.get_by_label("הפעלת שעות שקטות").is_disabled()
    assert page.get_by_role("button", name="הפסק הודעות לכתובת זו").count() == 0
    assert_translated(page)
    assert_accessible(page)

    english = logged_in("owner", lang="en").new_page()
    english.goto(f"/integrations/{twilio.pk}/messaging")
    english.get_by_role("heading", name="Messaging rules and opt-outs", level=1).wait_for()
    assert english.locator("html").get_attribute("dir") == "ltr"
    assert_accessible(english)
    screenshot(english, "messaging")

    phone = logged_in("owner", viewport={"width": 360, "height": 800}).new_page()
    phone.goto(f"/integrations/{twilio.pk}/messaging")
    assert not has_horizontal_scroll(phone)
