"""The provider's own settings on the settings page in Debian's chromium, as a studio owner clicks
them (issue 14 item 3, issue 16's "audiences, boards and templates are not offered in the UI"),
one test per kind of editor: a select filled from the provider's list (Mailchimp audiences, the
fake Marketing API of tests/support/fakes/mailchimp.py), the custom API's resources editor with
its dry run (the local REST server of tests/support/fakes/rest_api.py), and WhatsApp's template
picker (templates fetched from the account, one chosen per messaging rule). Each page is checked
with axe (0 serious/critical) and, in Hebrew, for untranslated words; screenshots in both languages."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import responses

from core.tenant_context import tenant_scope
from integrations.models import Integration
from integrations.services import provider_app_set
from tests.support.browser import assert_accessible, assert_translated, screenshot
from tests.support.fakes.mailchimp import AUDIENCE, BASE, mailchimp_fake  # noqa: F401 - fixture
from tests.support.fakes.rest_api import API_KEY
from tests.support.messaging import CREDENTIALS, connect_messaging
from tests.support.payments import connect_payments

pytestmark = pytest.mark.browser

GRAPH = "https://graph.facebook.com/v23.0"


def off_loop(fn):
    """ORM work in another thread: Playwright's sync API runs an event loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result()


def stored(integration: Integration) -> dict:
    def read():
        with tenant_scope(integration.tenant_id):
            return Integration.objects.get(pk=integration.pk).settings
    return off_loop(read)


@pytest.fixture(autouse=True)
def _limiter(settings):
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True  # the custom API's REST server is on 127.0.0.1
    limiter = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for key in limiter.scan_iter("integrations:ratelimit:*"):
        limiter.delete(key)


# --------------------------------------------------------------------------- a select from a fetched list
def test_owner_picks_the_mailchimp_audience_from_the_accounts_list_and_a_member_reads_it(
        studio, mailchimp_fake, logged_in):  # noqa: F811
    def connect():
        provider_app_set(provider_id="mailchimp", api_base_url=BASE)
        return connect_payments(studio.owner, "mailchimp", {"apiKey": mailchimp_fake.api_key},
                                entities=[("client", "list_member", "bidirectional")], settings={"audienceId": ""})
    integration = off_loop(connect)
    page = logged_in("owner").new_page()
    page.goto(f"/integrations/{integration.pk}")
    audience = page.get_by_label("קהל", exact=True)
    page.get_by_text("פריט אחד ברשימת הספק.").wait_for()  # the list came from the account
    audience.select_option(label="Studio clients")
    page.get_by_label("סטטוס של מנוי חדש").select_option(label="רשום")
    page.get_by_role("button", name="שמירת ההגדרות").click()
    page.get_by_text("ההגדרות נשמרו.").wait_for()
    assert (stored(integration)["audienceId"], stored(integration)["newMemberStatus"]) == (AUDIENCE, "subscribed")
    page.get_by_text("פריט אחד ברשימת הספק.").wait_for()
    assert_accessible(page)
    assert_translated(page, allow=("mailchimp", "clients"))  # the integration's and the audience's names
    screenshot(page, "provider-settings-select")

    english = logged_in("owner", lang="en").new_page()
    english.goto(f"/integrations/{integration.pk}")
    english.get_by_text("1 item listed by the provider.").wait_for()
    assert english.get_by_label("Audience", exact=True).input_value() == AUDIENCE
    assert_accessible(english)
    screenshot(english, "provider-settings-select")

    member = logged_in("member").new_page()
    member.goto(f"/integrations/{integration.pk}")
    assert member.get_by_label("קהל", exact=True).is_disabled()
    assert member.get_by_role("button", name="שמירת ההגדרות").count() == 0


# --------------------------------------------------------------------------- the resources editor and its dry run
def test_owner_configures_a_custom_api_resource_and_sees_the_first_page_mapped(studio, rest_api_fake, logged_in):
    rest_api_fake.put("clients", full_name="Dana Levi", contact={"email": "dana@example.com"})
    rest_api_fake.put("clients", full_name="Noa Cohen", contact={"email": "noa@example.com"})

    def connect():
        with tenant_scope(studio.tenant.id):
            integration = Integration(
                tenant=studio.tenant, provider="custom_api", name="ERP", status=Integration.Status.CONNECTED,
                connected_by=studio.owner.user,
                connection_config={"baseUrl": rest_api_fake.base_url, "authHeader": "X-Api-Key"},
                settings={"resources": {}},
                sync_settings={"enabled": False, "direction": "import", "frequency": "manual", "filters": [],
                               "fieldMappings": [
                                   {"localEntity": "client", "localField": "name", "remoteField": "full_name"},
                                   {"localEntity": "client", "localField": "email", "remoteField": "contact.email"}],
                               "entities": [{"localEntity": "client", "remoteEntity": "client", "enabled": True,
                                             "direction": "import"}]})
            integration.set_secret("api_key_encrypted", json.dumps({"apiKey": API_KEY}))
            integration.save()
            return integration
    integration = off_loop(connect)

    page = logged_in("owner").new_page()
    page.goto(f"/integrations/{integration.pk}")
    page.get_by_role("button", name="הוספת משאב").click()
    resource = page.get_by_role("group", name="משאב", exact=True)
    resource.get_by_label("רשומה", exact=True).select_option(label="לקוח")
    resource.get_by_label("כתובת הרשימה").fill("/v1/clients")
    resource.get_by_label("היכן הפריטים בתשובה").fill("data")
    resource.get_by_label("שדה מועד העדכון").fill("updated_at")
    resource.get_by_label("היכן הסמן לעמוד הבא").fill("meta.next_cursor")
    resource.get_by_label("פרמטר גודל העמוד").fill("limit")
    resource.get_by_label("גודל עמוד", exact=True).fill("2")
    resource.get_by_label("כתובת לעדכון").fill("/v1/clients")  # no {id}: the adapter's rule refuses it
    page.get_by_role("button", name="שמירת המשאבים").click()
    page.get_by_role("alert").filter(has_text="resources.client.updatePath").wait_for()
    assert stored(integration)["resources"] == {}

    page.get_by_label("כתובת לעדכון").fill("/v1/clients/{id}")
    page.get_by_role("button", name="שמירת המשאבים").click()
    page.get_by_text("המשאבים נשמרו.", exact=False).wait_for()
    assert stored(integration)["resources"]["client"]["updatePath"] == "/v1/clients/{id}"

    page.get_by_role("button", name="הרצת ניסיון: הצגת העמוד הראשון ממופה").click()
    output = page.locator("#dry-run-output")
    output.get_by_text("Dana Levi", exact=False).wait_for()
    assert "dana@example.com" in output.inner_text()
    assert_accessible(page)
    # the sample's values are the API's data and field names, shown as they are
    assert_translated(page, allow=("Dana", "Levi", "Noa", "Cohen", "name", "email", "data", "limit", "cursor",
                                   "meta", "next_cursor", "updated_at", "clients", "id"))
    screenshot(page, "provider-settings-resources")

    english = logged_in("owner", lang="en").new_page()
    english.goto(f"/integrations/{integration.pk}")
    assert english.get_by_label("List address").input_value() == "/v1/clients"
    assert_accessible(english)
    screenshot(english, "provider-settings-resources")


# --------------------------------------------------------------------------- the template picker
def test_owner_fetches_whatsapp_templates_and_picks_one_for_a_rule(studio, logged_in):
    rule = {"id": "meeting-reminder", "entityType": "meeting", "minutesBefore": 120, "recipients": "attendees",
            "template": "", "language": "he", "parameters": ["{{entity.title}}"]}
    integration = off_loop(lambda: connect_messaging(studio.owner, "whatsapp_business", rules=[rule]))
    account = CREDENTIALS["whatsapp_business"]["businessAccountId"]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru(re.compile(r"^http://(127\.0\.0\.1|localhost)"))
        rsps.add(responses.GET, f"{GRAPH}/{account}/message_templates", json={"data": [
            {"name": "meeting_reminder", "language": "he", "status": "APPROVED", "category": "UTILITY", "id": "1"},
            {"name": "payment_due", "language": "he", "status": "APPROVED", "category": "UTILITY", "id": "2"}],
            "paging": {"cursors": {"before": "MA", "after": "MA"}}})
        page = logged_in("owner").new_page()
        page.goto(f"/integrations/{integration.pk}")
        page.get_by_role("button", name="הבאת התבניות מהחשבון").click()
        page.get_by_text("2 תבניות הובאו מהחשבון.").wait_for()
    page.get_by_label("תבנית לכלל meeting-reminder").select_option(label="meeting_reminder (he)")
    page.get_by_role("button", name="שמירת ההגדרות").click()
    page.get_by_text("ההגדרות נשמרו.").wait_for()
    saved = stored(integration)["messageRules"][0]
    assert (saved["template"], saved["language"]) == ("meeting_reminder", "he")
    assert_accessible(page)
    assert_translated(page, allow=("meeting", "reminder", "meeting_reminder", "payment_due", "he"))
    screenshot(page, "provider-settings-templates")

    english = logged_in("owner", lang="en").new_page()
    english.goto(f"/integrations/{integration.pk}")
    assert english.get_by_label("Template for rule meeting-reminder").input_value() == "meeting_reminder|he"
    assert_accessible(english)
    screenshot(english, "provider-settings-templates")
