"""The webhook builder in a real browser (Debian's chromium, Playwright), as a studio owner
clicks it: build an incoming webhook, sign a request from outside and watch its log row
arrive live; build an outgoing webhook with the placeholder helper and the preview, test-send
to a local receiver and read its answer; a webhook disabled by the engine shows up live; a
member sees everything read-only; every page passes axe (0 serious/critical), has no
untranslated word in Hebrew, and is saved as a screenshot in Hebrew and English.

Database work happens in fixtures before Playwright starts (tests/support/browser.py); the
one change made during a test (the engine disabling a webhook) runs in a thread of its own.
"""

from __future__ import annotations

import json
import threading
import urllib.parse

import pytest
import requests
from playwright.sync_api import expect

from tests.support.browser import assert_accessible, assert_translated, screenshot
from tests.support.receiver import Plan, Receiver
from webhooks.signing import hex_hmac_sha256

pytestmark = pytest.mark.browser

#: Technical names a Hebrew page writes as they are: header names, the secret's prefix, the
#: Standard Webhooks headers, the sample's JSON keys and the verification schemes' product names.
TECHNICAL = {"X", "Webhook", "Signature", "webhook", "id", "timestamp", "signature", "sha", "Standard", "Webhooks",
             "whsec", "event", "test", "data", "message", "Test", "delivery", "from", "webhookId", "Meta", "Graph",
             "Microsoft", "monday", "com", "Intuit", "Bearer", "accepted", "yes", "title"}


def _wait_live(page) -> None:
    page.wait_for_function("document.body.dataset.live === 'open'", timeout=15000)


# --------------------------------------------------------------------------- incoming, live
def test_build_an_incoming_webhook_send_a_signed_request_from_outside_and_see_it_live(
    studio, celery_worker_thread, asgi_hub, logged_in
):
    page = logged_in("owner", base_url=asgi_hub).new_page()
    page.goto("/webhooks")
    expect(page.get_by_role("heading", name="אין וובהוקים עדיין")).to_be_visible()
    page.get_by_role("link", name="וובהוק נכנס חדש").click()

    # the form, as an owner fills it
    page.get_by_label("שם", exact=True).fill("לידים מהאתר")
    page.get_by_label("תיאור").fill("טופס צור קשר באתר הסטודיו")
    expect(page.get_by_text("X-Webhook-Signature").first).to_be_visible()  # the sender's instructions (hmac)
    page.get_by_role("button", name="הוסף פעולה").click()
    actions = page.locator("#actions")
    actions.get_by_label("מה לעשות").select_option(label="צור רשומה")
    actions.get_by_label("סוג רשומה").select_option(label="לקוח")
    actions.get_by_role("button", name="הוסף שדה").click()
    actions.get_by_label("שדה ברשומה").fill("name")
    actions.get_by_label("נתיב בגוף הבקשה").fill("lead.name")
    page.get_by_role("button", name="צור וובהוק").click()

    # the secret is shown this once, with the generated address; the address bar is the webhook's
    expect(page.get_by_text("העתק את הסוד עכשיו").first).to_be_visible()
    secret = page.get_by_label("סוד", exact=True).input_value()
    url = page.get_by_label("כתובת", exact=True).input_value()
    assert secret.startswith("whsec_") and "/api/webhooks/tenant/" in url
    assert "/webhooks/incoming/" in page.url and not page.url.endswith("/new")
    expect(page.get_by_role("button", name="העתק סוד")).to_be_visible()
    expect(page.locator("#log-empty")).to_be_visible()
    _wait_live(page)
    page.evaluate("window.__notReloaded = true")

    # when a sender posts a signed request from outside (a real HTTP POST to the hub)
    body = json.dumps({"lead": {"name": "דנה לוי"}, "source": "site"}, ensure_ascii=False).encode()
    endpoint = asgi_hub + urllib.parse.urlsplit(url).path
    answer = requests.post(endpoint, data=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Webhook-Signature": hex_hmac_sha256(secret, body)})
    assert answer.status_code == 202, answer.text

    # then its log row appears without a reload, processed by the worker
    row = page.locator("#log-rows tr.log-row")
    expect(row).to_have_count(1, timeout=30000)
    expect(row.get_by_text("הצלחה")).to_be_visible()
    assert page.evaluate("window.__notReloaded === true")
    row.get_by_role("button", name="פרטים").click()
    expect(page.locator("#log-detail")).to_contain_text("create_entity")
    expect(page.locator("#log-detail")).to_contain_text("דנה לוי")

    # and a wrong signature is refused and never logged
    bad = requests.post(endpoint, data=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Webhook-Signature": "0" * 64})
    assert bad.status_code == 401

    # the test panel runs the same pipeline and shows each action's outcome
    page.get_by_role("button", name="שלח בקשת בדיקה").click()
    expect(page.locator("#incoming-test-outcome")).to_contain_text("צור רשומה")
    expect(page.locator("#incoming-test-outcome")).to_contain_text("בדיקת חתימה: עברה")

    # after a reload the secret is gone for good
    page.reload()
    expect(page.get_by_label("סוד", exact=True)).to_have_count(0)
    assert secret not in page.content()
    assert_accessible(page)
    assert_translated(page, allow=TECHNICAL)


# --------------------------------------------------------------------------- outgoing
@pytest.fixture
def receiver():
    with Receiver(default=Plan(status=202, body=json.dumps({"accepted": "yes", "ticket": 4711}).encode())) as rx:
        yield rx


def test_build_an_outgoing_webhook_with_the_placeholder_helper_and_preview_then_test_send(
    studio, receiver, celery_worker_thread, asgi_hub, logged_in
):
    page = logged_in("owner", base_url=asgi_hub).new_page()
    page.goto("/webhooks/outgoing/new")
    page.get_by_label("שם", exact=True).fill("מערכת CRM")
    page.get_by_label("כתובת המקבל (URL)").fill(receiver.url)

    # choosing a trigger lists the fields of that record type in the helper
    expect(page.get_by_role("button", name="{{entity.title}}")).to_have_count(0)
    page.get_by_label("פגישה — נוצר").check()
    helper = page.get_by_role("button", name="{{entity.title}}")
    expect(helper).to_be_visible()
    expect(page.get_by_role("button", name="{{entity.startTime}}")).to_be_visible()

    # the helper inserts at the cursor, and the preview follows the template
    template = page.get_by_label("תבנית התוכן")
    template.click()
    template.press_sequentially('{"title": ')
    helper.click()
    template.press_sequentially(', "kind": "')
    page.get_by_role("button", name="{{event}}").click()
    template.press_sequentially('"}')
    assert template.input_value() == '{"title": {{entity.title}}, "kind": "{{event}}"}'
    preview = page.locator("#preview pre")
    expect(preview).to_contain_text('"title": "פגישת היכרות - משפחת כהן"')
    expect(preview).to_contain_text('"kind": "created"')
    assert json.loads(preview.inner_text()) == {"title": "פגישת היכרות - משפחת כהן", "kind": "created"}
    # a broken template is explained in the preview
    template.press_sequentially("{{")
    expect(page.locator("#preview [role=alert]")).to_be_visible()
    template.press("Backspace")
    template.press("Backspace")
    expect(preview).to_contain_text('"kind": "created"')

    page.get_by_label("חתום על בקשות").check()
    page.get_by_label("סוד החתימה").fill("a-long-signing-secret")
    page.get_by_role("button", name="צור וובהוק").click()
    expect(page.get_by_role("alert").or_(page.get_by_text("נשמר."))).to_contain_text("נשמר.")
    assert "a-long-signing-secret" not in page.content()

    # test send: the receiver's answer is shown, and the request reached it signed
    page.get_by_role("button", name="שלח בדיקה").click()
    result = page.locator("#outgoing-test-outcome")
    expect(result).to_contain_text("202")
    expect(result).to_contain_text("4711")
    [received] = receiver.wait_for(1)
    assert json.loads(received.body) == {"title": "פגישת היכרות - משפחת כהן", "kind": "created"}
    assert received.header("X-Webhook-Signature") == hex_hmac_sha256("a-long-signing-secret", received.body)

    # the deliveries log has the attempt, with its request and the answer
    row = page.locator("#log-rows tr.log-row")
    expect(row).to_have_count(1)
    # the preview and the helper's examples show the sample record's own values (data, not words of the page)
    sample_values = {"created", "email", "name", "scheduled"}
    assert_translated(page, allow=TECHNICAL | sample_values | {"CRM", "ticket", "kind"})
    row.get_by_role("button", name="פרטים").click()
    expect(page.locator("#log-detail")).to_contain_text("4711")
    expect(page.get_by_role("button", name="שלח שוב")).to_be_visible()
    assert_accessible(page)
    # replay: a new manual attempt of the same delivery reaches the receiver again
    page.get_by_role("button", name="שלח שוב").click()
    expect(page.locator("#log-detail [role=status]")).to_be_visible()
    receiver.wait_for(2)
    expect(row).to_have_count(2)


# --------------------------------------------------------------------------- every page, both languages
@pytest.fixture
def built(studio):
    """One webhook of each kind with a log row each (made before Playwright starts)."""
    from core.tenant_context import tenant_scope
    from tests.support.webhooks import make_webhook
    from webhooks.incoming import services as incoming_services
    from webhooks.models import OutgoingWebhook

    incoming, _ = make_webhook(studio.owner, name="לידים מהאתר", description="טופס צור קשר", actions=[
        {"type": "create_entity", "config": {"entityType": "client", "fieldMappings": {"name": "lead.name"}}},
        {"type": "forward", "config": {"forwardUrl": "https://crm.example.com/in", "forwardHeaders": {"X-Team": "a"}}},
    ], filters={"bodyPath": "source", "bodyValue": "site"})
    with tenant_scope(studio.tenant.id):
        incoming_services.incoming_test(incoming, payload={"lead": {"name": "דנה"}, "source": "other"})
        outgoing = OutgoingWebhook.objects.create(
            tenant=studio.tenant, name="מערכת CRM", url="https://crm.example.com/hook",
            triggers=[{"entityType": "meeting", "events": ["created", "status_changed"]}],
            payload_template='{"title": {{entity.title}}}', total_sent=12, total_failed=1)
    return incoming, outgoing


@pytest.fixture
def sample_words(studio) -> set[str]:
    """The sample meeting's field names and values, which the preview shows (data, not the page's words)."""
    from webhooks.outgoing import services

    entity = services.sample_entity(tenant=studio.tenant, entity_type="meeting")
    words = set(entity)
    for value in entity.values():
        words.update(str(value).replace('"', " ").replace("'", " ").split())
    return words


def _disable_in_another_thread(webhook) -> None:
    """What the delivery engine does after too many failures (services.webhook_disable), in a
    thread of its own: Playwright's loop owns this one."""
    from core.tenant_context import tenant_scope
    from webhooks.outgoing import services

    def run():
        from django.db import connection

        with tenant_scope(webhook.tenant_id):
            services.webhook_disable(webhook=webhook, reason="disabled after 50 consecutive failed deliveries")
        connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(20)


def test_an_auto_disabled_webhook_shows_up_live_on_its_page_and_the_list(built, asgi_hub, logged_in):
    _, outgoing = built
    context = logged_in("owner", base_url=asgi_hub)
    page, index = context.new_page(), context.new_page()
    page.goto(f"/webhooks/outgoing/{outgoing.pk}")
    index.goto("/webhooks")
    expect(page.locator("#auto-disabled")).to_have_count(0)
    _wait_live(page)
    _wait_live(index)
    _disable_in_another_thread(outgoing)
    expect(page.locator("#auto-disabled")).to_be_visible(timeout=15000)
    expect(page.locator("#live-region")).to_contain_text("מערכת CRM")
    expect(index.get_by_text("הושבת אוטומטית")).to_be_visible(timeout=15000)


def test_a_member_sees_every_page_read_only(built, logged_in):
    incoming, outgoing = built
    page = logged_in("member").new_page()
    page.goto("/webhooks")
    expect(page.get_by_role("link", name="לידים מהאתר")).to_be_visible()
    expect(page.get_by_role("link", name="וובהוק נכנס חדש")).to_have_count(0)
    for path in (f"/webhooks/incoming/{incoming.pk}", f"/webhooks/outgoing/{outgoing.pk}"):
        page.goto(path)
        expect(page.get_by_label("שם", exact=True)).to_be_disabled()
        for name in ("שמור", "מחק וובהוק", "החלף סוד", "שלח בדיקה", "שלח בקשת בדיקה", "שלח שוב"):
            expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
        expect(page.get_by_role("button", name="הוסף כותרת").first).to_be_disabled()
    # the preview works for a member too, with the webhook's own template
    expect(page.locator("#preview pre")).to_contain_text('"title": "פגישת היכרות - משפחת כהן"')
    assert json.loads(page.locator("#preview pre").inner_text()) == {"title": "פגישת היכרות - משפחת כהן"}


@pytest.mark.parametrize("lang", ["he", "en"])
def test_every_page_is_accessible_translated_and_saved_as_a_screenshot(built, sample_words, logged_in, lang):
    incoming, outgoing = built
    page = logged_in("owner", lang=lang).new_page()
    pages = {
        "webhooks": "/webhooks",
        "webhook-incoming": f"/webhooks/incoming/{incoming.pk}",
        "webhook-incoming-new": "/webhooks/incoming/new",
        "webhook-outgoing": f"/webhooks/outgoing/{outgoing.pk}",
        "webhook-outgoing-new": "/webhooks/outgoing/new",
    }
    for name, path in pages.items():
        page.goto(path)
        if "outgoing" in name:
            expect(page.locator("#preview pre")).to_be_visible()  # the preview has loaded
        assert page.locator("html").get_attribute("lang") == lang
        assert_accessible(page)
        if lang == "he":
            assert_translated(page, allow=TECHNICAL | sample_words | {"CRM", "email", "name"})
        else:
            assert page.locator("html").get_attribute("dir") == "ltr"
        screenshot(page, name)
    # the log's detail of a skipped request says why
    page.goto(pages["webhook-incoming"])
    page.locator("#log-rows tr.log-row").get_by_role("button").click()
    expect(page.locator("#log-detail")).to_contain_text("source")
