"""The provider's own settings on the settings page (issue 14 item 3; issue 16 "audiences, boards
and templates are not offered in the UI"), through Django's test client: lists fetched from the
provider through the real adapter and ProviderClient against the fakes of tests/support/fakes
(Mailchimp audiences, monday boards and columns, Canva designs, Figma projects and files, the
custom API's local REST server, WhatsApp templates), a provider's error in words (never a 500),
every save through the API's rules (a value PATCH refuses is refused here, naming it, and
changes nothing), members read-only. The browser flows are in test_provider_settings_browser.py."""

from __future__ import annotations

import json

import pytest
import redis
import responses

from core.tenant_context import tenant_scope
from integrations.models import Integration
from integrations.services import provider_app_set
from tests.support.factories import persona_in
from tests.support.fakes import canva as canva_fakes
from tests.support.fakes.figma import TOKEN as FIGMA_TOKEN
from tests.support.fakes.mailchimp import AUDIENCE, BASE, mailchimp_fake  # noqa: F401 - fixture
from tests.support.fakes.monday import BOARD, ORIGIN, monday_fake  # noqa: F401 - fixture
from tests.support.fakes.rest_api import API_KEY
from tests.support.messaging import connect_messaging
from tests.support.oauth import make_oauth_integration
from tests.support.payments import connect_payments

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.facebook.com/v23.0"


@pytest.fixture(autouse=True)
def _limiter_on_test_redis(settings):
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True  # the custom API's REST server is on 127.0.0.1
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for key in client.scan_iter("integrations:ratelimit:*"):
        client.delete(key)


def browser(persona, django_client_class=None):
    from django.test import Client

    client = Client()
    client.force_login(persona.user)
    return client


def stored(integration: Integration) -> dict:
    with tenant_scope(integration.tenant_id):
        return Integration.objects.get(pk=integration.pk).settings


def url(integration: Integration, part: str) -> str:
    return f"/integrations/{integration.pk}/{part}"


# --------------------------------------------------------------------------- Mailchimp: a select filled from the account
@pytest.fixture
def mailchimp(alice, mailchimp_fake):  # noqa: F811
    provider_app_set(provider_id="mailchimp", api_base_url=BASE)
    integration = connect_payments(alice, "mailchimp", {"apiKey": mailchimp_fake.api_key},
                                   entities=[("client", "list_member", "bidirectional")], settings={"audienceId": ""})
    return integration, mailchimp_fake


def test_mailchimp_audiences_fill_the_select_and_the_choice_is_saved_through_the_apis_rules(alice, mailchimp):
    integration, fake = mailchimp
    owner = browser(alice)
    page = owner.get(f"/integrations/{integration.pk}").content.decode()
    assert 'id="provider"' in page and 'id="ps-audienceId"' in page
    assert "קהל" in page  # "Audience" in Hebrew
    assert "choices?key=audienceId" in page  # the select asks for the list as the page loads

    listed = owner.get(url(integration, "choices"), {"key": "audienceId"})
    assert listed.status_code == 200
    html = listed.content.decode()
    assert f'value="{AUDIENCE}"' in html and fake.count("GET", "/lists") == 1

    saved = owner.post(url(integration, "provider"), {"ps-keys": ["audienceId", "newMemberStatus"],
                                                      "ps-audienceId": AUDIENCE, "ps-newMemberStatus": "subscribed"})
    assert saved.status_code == 200, saved.content.decode()[:2000]
    assert stored(integration)["audienceId"] == AUDIENCE
    assert stored(integration)["newMemberStatus"] == "subscribed"

    refused = owner.post(url(integration, "provider"), {"ps-keys": ["audienceId"], "ps-audienceId": "no such-id!"})
    assert refused.status_code == 400
    assert "settings.audienceId" in refused.content.decode()  # the adapter's own rule, named
    assert stored(integration)["audienceId"] == AUDIENCE  # unchanged


def test_the_adapters_settings_errors_are_in_the_pages_language_hebrew_by_default(alice, mailchimp):
    # Given a value Mailchimp's rules refuse, posted with no language, then in English
    integration, _fake = mailchimp
    owner = browser(alice)
    post = {"ps-keys": ["audienceId"], "ps-audienceId": "no such-id!"}
    hebrew = owner.post(url(integration, "provider"), post)
    english = owner.post(url(integration, "provider"), post, HTTP_ACCEPT_LANGUAGE="en")
    # Then the adapter's message is Hebrew by default and English when asked
    assert hebrew.status_code == english.status_code == 400
    assert "settings.audienceId</span>: <span dir=\"auto\">מזהה קהל (אותיות וספרות)" in hebrew.content.decode()
    assert "settings.audienceId</span>: <span dir=\"auto\">an audience id (letters and digits)" in english.content.decode()
    assert stored(integration)["audienceId"] == ""


@pytest.mark.parametrize(("status", "shown"), [(401, "reconnect"), (500, "Mailchimp audiences: HTTP 500")])
def test_a_provider_error_while_listing_is_shown_in_words_never_a_500(alice, mailchimp, status, shown, settings):
    integration, fake = mailchimp
    fake.fail_next(status, times=5)
    listed = browser(alice).get(url(integration, "choices"), {"key": "audienceId"})
    assert listed.status_code == 200
    html = listed.content.decode()
    assert 'class="msg error"' in html and (shown in html or "התחברות" in html or "חבר" in html)
    assert fake.api_key not in html


def test_an_unknown_listed_setting_is_404_and_members_read_only(alice, mailchimp):
    integration, _fake = mailchimp
    owner = browser(alice)
    assert owner.get(url(integration, "choices"), {"key": "nope"}).status_code == 404
    # the resources editor and the template fetch belong to the providers that offer them
    assert owner.post(url(integration, "resources"), {"r-n": []}).status_code == 404
    assert owner.post(url(integration, "templates")).status_code == 404
    member = browser(persona_in(alice, "mia@example.com", "member"))
    page = member.get(f"/integrations/{integration.pk}").content.decode()
    assert 'id="ps-audienceId"' in page and 'id="save-provider"' not in page
    assert member.post(url(integration, "provider"), {"ps-keys": ["audienceId"],
                                                      "ps-audienceId": AUDIENCE}).status_code == 403
    assert stored(integration)["audienceId"] == ""


# --------------------------------------------------------------------------- monday: board then its columns
def test_monday_boards_then_the_chosen_boards_columns_are_offered_and_saved(alice, monday_fake):  # noqa: F811
    provider_app_set(provider_id="monday", client_id="mid", client_secret="ms", api_base_url=ORIGIN)
    integration = make_oauth_integration(alice, "monday", access=monday_fake.token, refresh="r")
    owner = browser(alice)
    boards = owner.get(url(integration, "choices"), {"key": "boardId"}).content.decode()
    assert f'value="{BOARD}"' in boards and "Studio tasks" in boards
    # the columns follow the board chosen in the form, before it is saved
    columns = owner.get(url(integration, "choices"), {"key": "columns.status", "ps-keys": ["boardId"],
                                                      "ps-boardId": BOARD}).content.decode()
    assert 'value="date4"' in columns and "Due date" in columns
    none_yet = owner.get(url(integration, "choices"), {"key": "columns.status"}).content.decode()
    assert 'value="date4"' not in none_yet and "msg error" not in none_yet

    keys = ["boardId", "columns.status", "columns.dueDate", "columns.description"]
    saved = owner.post(url(integration, "provider"), {"ps-keys": keys, "ps-boardId": BOARD, "ps-columns-status": "status",
                                                      "ps-columns-dueDate": "date4", "ps-columns-description": "text0"})
    assert saved.status_code == 200, saved.content.decode()[:2000]
    assert stored(integration)["boardId"] == BOARD
    assert stored(integration)["columns"] == {"status": "status", "dueDate": "date4", "description": "text0"}
    bad = owner.post(url(integration, "provider"), {"ps-keys": ["boardId"], "ps-boardId": "abc"})
    assert bad.status_code == 400 and stored(integration)["boardId"] == BOARD


def test_monday_status_labels_are_shown_in_hebrew_edited_and_checked(alice, monday_fake):  # noqa: F811
    provider_app_set(provider_id="monday", client_id="mid", client_secret="ms", api_base_url=ORIGIN)
    integration = make_oauth_integration(alice, "monday", access=monday_fake.token, refresh="r")
    owner = browser(alice)
    page = owner.get(f"/integrations/{integration.pk}").content.decode()
    # one typed control per task status, labelled in Hebrew, holding the adapter's defaults
    for status, hebrew, value in (("todo", "לביצוע", ""), ("in_progress", "בתהליך", "Working on it"),
                                  ("done", "בוצע", "Done"), ("cancelled", "בוטל", "Stuck")):
        assert f'<label for="ps-statusLabels-{status}">תווית הסטטוס עבור "{hebrew}"</label>' in page.replace("&quot;", '"')
        assert f'id="ps-statusLabels-{status}" name="ps-statusLabels-{status}" value="{value}" dir="auto"' in page
    assert "ייובא כ" in page  # the help says what an unknown label becomes

    keys = ["boardId", "statusLabels.todo", "statusLabels.in_progress", "statusLabels.done", "statusLabels.cancelled"]
    labels = {"ps-statusLabels-todo": "לא התחיל", "ps-statusLabels-in_progress": "בעבודה",
              "ps-statusLabels-done": "הושלם", "ps-statusLabels-cancelled": "  "}
    saved = owner.post(url(integration, "provider"), {"ps-keys": keys, "ps-boardId": BOARD, **labels})
    assert saved.status_code == 200, saved.content.decode()[:2000]
    assert stored(integration)["statusLabels"] == {"todo": "לא התחיל", "in_progress": "בעבודה", "done": "הושלם",
                                                   "cancelled": ""}
    assert stored(integration)["boardId"] == BOARD
    shown = owner.get(f"/integrations/{integration.pk}").content.decode()
    assert 'id="ps-statusLabels-done" name="ps-statusLabels-done" value="הושלם"' in shown

    # two statuses with one label: an imported item's label would name both, refused by the adapter's rule
    shared = owner.post(url(integration, "provider"), {"ps-keys": keys, "ps-boardId": BOARD, **labels,
                                                       "ps-statusLabels-cancelled": "הושלם"})
    assert shared.status_code == 400
    assert "settings.statusLabels" in shared.content.decode() and "done, cancelled" in shared.content.decode()
    too_long = owner.post(url(integration, "provider"), {"ps-keys": keys, "ps-boardId": BOARD, **labels,
                                                         "ps-statusLabels-done": "x" * 101})
    assert too_long.status_code == 400 and "settings.statusLabels" in too_long.content.decode()
    assert stored(integration)["statusLabels"]["done"] == "הושלם"  # unchanged
    # a member reads them, cannot change them
    member = browser(persona_in(alice, "mia@example.com", "member"))
    assert 'id="ps-statusLabels-done"' in member.get(f"/integrations/{integration.pk}").content.decode()
    assert member.post(url(integration, "provider"), {"ps-keys": keys, **labels}).status_code == 403


# --------------------------------------------------------------------------- Xero, Priority, Hashavshevet
def test_xero_organisation_is_one_of_the_connected_organisations(alice):
    integration = make_oauth_integration(alice, "xero", access="xero-at")
    with tenant_scope(alice.tenant.id):
        integration.settings = {"organisations": [{"organisationId": "t-1", "organisationName": "Studio Ltd"},
                                                  {"organisationId": "t-2", "organisationName": "Studio Holdings"}]}
        integration.save()
    owner = browser(alice)
    listed = owner.get(url(integration, "choices"), {"key": "organisationId"}).content.decode()
    assert 'value="t-2"' in listed and "Studio Holdings" in listed
    assert owner.post(url(integration, "provider"), {"ps-keys": ["organisationId"],
                                                     "ps-organisationId": "t-2"}).status_code == 200
    assert stored(integration)["organisationId"] == "t-2"
    refused = owner.post(url(integration, "provider"), {"ps-keys": ["organisationId"], "ps-organisationId": "t-9"})
    assert refused.status_code == 400 and stored(integration)["organisationId"] == "t-2"


def test_priority_forms_and_hashavshevet_document_types_are_typed_and_checked(alice):
    priority = connect_payments(alice, "priority", {"serverUrl": "https://p.example.com", "tabulaIni": "tabula.ini",
                                                    "company": "demo", "username": "u", "password": "p"},
                                entities=[("client", "CUSTOMERS", "bidirectional")])
    owner = browser(alice)
    page = owner.get(f"/integrations/{priority.pk}").content.decode()
    assert 'id="ps-forms-client"' in page and 'value="CUSTOMERS"' in page
    keys = ["forms.client", "forms.supplier", "forms.payment"]
    ok = owner.post(url(priority, "provider"), {"ps-keys": keys, "ps-forms-client": "CUSTOMERS2",
                                                "ps-forms-supplier": "SUPPLIERS", "ps-forms-payment": "CINVOICES"})
    assert ok.status_code == 200 and stored(priority)["forms"] == {"client": "CUSTOMERS2", "supplier": "SUPPLIERS",
                                                                     "payment": "CINVOICES"}
    bad = owner.post(url(priority, "provider"), {"ps-keys": keys, "ps-forms-client": "NO SPACES"})
    assert bad.status_code == 400 and stored(priority)["forms"]["client"] == "CUSTOMERS2"

    wiz = connect_payments(alice, "hashavshevet", {"privateKey": "k" * 20, "dbName": "db"},
                           entities=[("payment", "document", "export")])
    keys = ["documentTypes.payment", "documentTypes.expense"]
    assert owner.post(url(wiz, "provider"), {"ps-keys": keys, "ps-documentTypes-payment": "305",
                                             "ps-documentTypes-expense": ""}).status_code == 200
    assert stored(wiz)["documentTypes"] == {"payment": 305, "expense": None}
    bad = owner.post(url(wiz, "provider"), {"ps-keys": keys, "ps-documentTypes-payment": "three"})
    assert bad.status_code == 400 and stored(wiz)["documentTypes"]["payment"] == 305


# --------------------------------------------------------------------------- Canva and Figma: picks
def test_canva_designs_are_picked_from_the_users_designs(alice, canva_fake):
    provider_app_set(provider_id="canva", client_id="c", client_secret="s", api_base_url=canva_fake.base_url)
    canva_fake.put("DAF1", "Kitchen moodboard")
    canva_fake.put("DAF2", "Lobby signage")
    integration = make_oauth_integration(alice, "canva", access=canva_fakes.TOKEN)
    owner = browser(alice)
    listed = owner.get(url(integration, "choices"), {"key": "designIds"}).content.decode()
    assert 'value="DAF2"' in listed and "Lobby signage" in listed and 'type="checkbox"' in listed
    saved = owner.post(url(integration, "provider"), {"ps-keys": ["ownership", "designIds"], "ps-ownership": "owned",
                                                      "ps-designIds": ["DAF2"]})
    assert saved.status_code == 200 and stored(integration)["designIds"] == ["DAF2"]
    assert stored(integration)["ownership"] == "owned"


def test_figma_projects_of_the_typed_team_and_their_files_are_offered(alice, figma_fake):
    provider_app_set(provider_id="figma", client_id="f", client_secret="s", api_base_url=figma_fake.base_url)
    figma_fake.teams["T1"] = ["P1", "P2"]
    figma_fake.put("P1", "k1", "Floor plan")
    figma_fake.put("P2", "k2", "Facade")
    integration = make_oauth_integration(alice, "figma", access=FIGMA_TOKEN)
    owner = browser(alice)
    form = {"ps-keys": ["teamIds", "projectIds", "fileKeys"], "ps-teamIds": "T1"}
    projects = owner.get(url(integration, "choices"), {"key": "projectIds", **form}).content.decode()
    assert 'value="P1"' in projects and 'value="P2"' in projects
    files = owner.get(url(integration, "choices"), {"key": "fileKeys", **form, "ps-projectIds": ["P2"]}).content.decode()
    assert 'value="k2"' in files and "Facade" in files and 'value="k1"' not in files
    saved = owner.post(url(integration, "provider"), {**form, "ps-projectIds": ["P2"], "ps-fileKeys": ["k2"]})
    assert saved.status_code == 200
    assert {k: stored(integration)[k] for k in ("teamIds", "projectIds", "fileKeys")} == {
        "teamIds": ["T1"], "projectIds": ["P2"], "fileKeys": ["k2"]}
    bad = owner.post(url(integration, "provider"), {**form, "ps-teamIds": "T1, bad id!"})
    assert bad.status_code == 400 and stored(integration)["teamIds"] == ["T1"]


# --------------------------------------------------------------------------- custom API: resources editor + dry run
RESOURCE = {"listPath": "/v1/clients", "itemsPath": "data", "idField": "id", "updatedAtField": "updated_at",
            "cursorParam": "cursor", "nextCursorPath": "meta.next_cursor", "pageSizeParam": "limit", "pageSize": "2",
            "createPath": "/v1/clients", "createMethod": "POST", "updatePath": "/v1/clients/{id}",
            "updateMethod": "PATCH", "deletePath": "/v1/clients/{id}", "deleteMethod": "DELETE"}


def custom_api(persona, base_url: str) -> Integration:
    with tenant_scope(persona.tenant.id):
        integration = Integration(
            tenant=persona.tenant, provider="custom_api", name="ERP", status=Integration.Status.CONNECTED,
            connected_by=persona.user, connection_config={"baseUrl": base_url, "authHeader": "X-Api-Key"},
            settings={"resources": {}},
            sync_settings={"enabled": False, "direction": "import", "frequency": "manual",
                           "fieldMappings": [{"localEntity": "client", "localField": "name", "remoteField": "full_name"},
                                             {"localEntity": "client", "localField": "email",
                                              "remoteField": "contact.email"}],
                           "filters": [], "entities": [{"localEntity": "client", "remoteEntity": "client",
                                                        "enabled": True, "direction": "import"}]})
        integration.set_secret("api_key_encrypted", json.dumps({"apiKey": API_KEY}))
        integration.save()
    return integration


def resource_post(n: str = "0a1b2c3d", entity: str = "client", **changes) -> dict:
    row = {**RESOURCE, **changes}
    return {"r-n": [n], f"r-{n}-entity": entity, **{f"r-{n}-{k}": v for k, v in row.items()}}


def test_resources_are_added_saved_and_checked_by_the_adapters_rules_then_the_dry_run_shows_the_first_page(
        alice, rest_api_fake):
    rest_api_fake.put("clients", full_name="Dana Levi", contact={"email": "dana@example.com"})
    rest_api_fake.put("clients", full_name="Noa Cohen", contact={"email": "noa@example.com"})
    integration = custom_api(alice, rest_api_fake.base_url)
    owner = browser(alice)
    page = owner.get(f"/integrations/{integration.pk}").content.decode()
    assert 'id="resources-form"' in page and 'id="dry-run"' in page
    row = owner.get(url(integration, "resource-row")).content.decode()
    assert 'name="r-n"' in row and "r-" in row and 'name="r-' in row

    bad = owner.post(url(integration, "resources"), resource_post(listPath="https://evil.example/x",
                                                                  updatePath="/v1/clients"))
    html = bad.content.decode()
    assert bad.status_code == 400 and "resources.client.listPath" in html and "resources.client.updatePath" in html
    assert 'value="https://evil.example/x"' in html  # what was typed stays in the editor
    assert stored(integration)["resources"] == {}

    twice = owner.post(url(integration, "resources"), {**resource_post("0a1b2c3d"), **resource_post("1a1b2c3d"),
                                                       "r-n": ["0a1b2c3d", "1a1b2c3d"]})
    assert twice.status_code == 400 and stored(integration)["resources"] == {}

    saved = owner.post(url(integration, "resources"), resource_post())
    assert saved.status_code == 200, saved.content.decode()[:2000]
    assert stored(integration)["resources"]["client"] == {**RESOURCE, "pageSize": 2}

    dry = owner.post(url(integration, "dry-run"))
    html = dry.content.decode()
    assert dry.status_code == 200, html[:2000]
    assert "Dana Levi" in html and "dana@example.com" in html and 'id="dry-run-output"' in html
    with tenant_scope(alice.tenant.id):
        from entities.models import Client

        assert not Client.objects.filter(tenant=alice.tenant).exists()  # nothing changed

    removed = owner.post(url(integration, "resources"), {"r-n": []})
    assert removed.status_code == 200 and stored(integration)["resources"] == {}


def test_the_resource_editors_and_the_dry_runs_messages_are_in_the_pages_language(alice, rest_api_fake):
    # Given the custom API with a resource the adapter refuses, and a dry run with no resource to read
    integration = custom_api(alice, rest_api_fake.base_url)
    owner = browser(alice)
    bad = resource_post(listPath="https://evil.example/x", updatePath="/v1/clients", pageSize="5000")
    hebrew = owner.post(url(integration, "resources"), bad).content.decode()
    english = owner.post(url(integration, "resources"), bad, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # Then each refusal is in the page's language (Hebrew by default), the limits filled in
    assert "חייב להיות נתיב מתחת לכתובת הבסיס, שמתחיל ב־&#x27;/&#x27;" in hebrew and "עד 300 תווים" in hebrew
    assert "חייב לכלול {id}, במקום שבו נכנס מזהה הפריט" in hebrew
    assert "חייב להיות מספר שלם מ־1 עד 1000" in hebrew and "must be" not in hebrew
    assert "must be a path under the base URL, starting with &#x27;/&#x27;" in english and "at most 300" in english
    assert "must contain {id}, where the item&#x27;s id goes" in english
    assert "must be a whole number from 1 to 1000" in english
    assert stored(integration)["resources"] == {}
    # and the dry run's reason too (the sync names no enabled pair once the settings turn the pair off)
    with tenant_scope(alice.tenant.id):
        row = Integration.objects.get(pk=integration.pk)
        row.sync_settings = {**row.sync_settings, "entities": []}
        row.save()
    dry_he = owner.post(url(integration, "dry-run"))
    dry_en = owner.post(url(integration, "dry-run"), HTTP_ACCEPT_LANGUAGE="en")
    assert dry_he.status_code == dry_en.status_code == 400
    assert "אין זוג רשומות פעיל" in dry_he.content.decode()
    assert "no enabled entity pair" in dry_en.content.decode()


def test_a_dry_run_the_adapter_cannot_read_says_why_in_the_pages_language(alice, rest_api_fake):
    # Given a resource whose items path names nothing in the API's answer
    integration = custom_api(alice, rest_api_fake.base_url)
    owner = browser(alice)
    assert owner.post(url(integration, "resources"), resource_post(itemsPath="nowhere")).status_code == 200
    # When the dry run runs, with no language asked and in English
    hebrew = owner.post(url(integration, "dry-run"))
    english = owner.post(url(integration, "dry-run"), HTTP_ACCEPT_LANGUAGE="en")
    # Then the adapter's reason is in the page's language
    assert hebrew.status_code == english.status_code == 400
    assert "Custom API, קריאת הרשימה (אין רשימה ב־&#x27;nowhere&#x27;): HTTP 200" in hebrew.content.decode()
    assert "Custom API list (no list at &#x27;nowhere&#x27;): HTTP 200" in english.content.decode()


def test_a_dry_run_the_api_refuses_is_shown_in_words(alice, rest_api_fake):
    integration = custom_api(alice, rest_api_fake.base_url)
    owner = browser(alice)
    owner.post(url(integration, "resources"), resource_post())
    with tenant_scope(alice.tenant.id):
        integration.set_secret("api_key_encrypted", json.dumps({"apiKey": "wrong"}))
        integration.save()
    dry = owner.post(url(integration, "dry-run"))
    assert dry.status_code == 400 and 'class="msg error"' in dry.content.decode()
    assert "wrong" not in dry.content.decode()


# --------------------------------------------------------------------------- WhatsApp: templates per rule
RULE = {"id": "meeting-reminder", "entityType": "meeting", "minutesBefore": 120, "recipients": "attendees",
        "template": "", "language": "he", "parameters": ["{{entity.title}}"]}


def test_whatsapp_templates_are_fetched_and_one_is_picked_per_rule(alice):
    integration = connect_messaging(alice, "whatsapp_business", rules=[RULE])
    owner = browser(alice)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{GRAPH}/102290129340398/message_templates", json={"data": [
            {"name": "meeting_reminder", "language": "he", "status": "APPROVED", "category": "UTILITY", "id": "1"},
            {"name": "payment_due", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "2"}],
            "paging": {"cursors": {"before": "MA", "after": "MA"}}})
        fetched = owner.post(url(integration, "templates"))
    assert fetched.status_code == 200, fetched.content.decode()[:2000]
    assert [t["templateName"] for t in stored(integration)["approvedTemplates"]] == ["meeting_reminder", "payment_due"]
    html = fetched.content.decode()
    assert 'id="rule-0-template"' in html and 'value="payment_due|en_US"' in html

    saved = owner.post(url(integration, "provider"), {"rule-0-template": "payment_due|en_US"})
    assert saved.status_code == 200, saved.content.decode()[:2000]
    rule = stored(integration)["messageRules"][0]
    assert (rule["template"], rule["language"], rule["parameters"]) == ("payment_due", "en_US", ["{{entity.title}}"])


def test_whatsapp_refusing_the_token_is_shown_in_words(alice):
    integration = connect_messaging(alice, "whatsapp_business", rules=[RULE])
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{GRAPH}/102290129340398/message_templates", status=401,
                 json={"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}})
        answer = browser(alice).post(url(integration, "templates"))
    assert answer.status_code == 400 and 'class="msg error"' in answer.content.decode()
    assert stored(integration)["approvedTemplates"] == []
