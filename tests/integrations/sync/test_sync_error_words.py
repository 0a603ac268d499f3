"""A sync run's per-record errors in the reader's language (issue 14 item 6).

A run is written by a worker and read later, by whoever opens it: each failed item keeps its
English ``error`` (what every reader always had) and, when the error can say itself, its words
(core.words: msgid + params), which the settings page and the logs API say in the request's
language. Hebrew is asserted under Hebrew, English under English (asked for explicitly)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import pgettext_lazy

from core.tenant_context import tenant_scope
from core.words import english, say, words
from integrations.models import IntegrationLog
from integrations.providers.adapter import CursorInvalid
from integrations.providers.custom_api.adapter import CustomApiError, _same_origin
from integrations.sync.mapping import MappingContext, MappingError, compile_mappings
from integrations.sync.runs import RunReport, failed_item_text, run_error_text, run_finish, run_start
from tests.support.memory_provider import memory_provider  # noqa: F401 - fixture
from tests.support.sync_runs import connect_calendar, event, run_sync

pytestmark = pytest.mark.django_db


def in_language(code: str, fn):
    with translation.override(code):
        return fn()


def mapping(item: dict, local_type: str = "payment"):
    return compile_mappings([{"localEntity": local_type, "remoteEntity": "x", **item}], local_type=local_type,
                            defaults=[])


def no_rates(base, quote, on):
    return None


def raised(fn) -> MappingError:
    with pytest.raises(MappingError) as caught:
        fn()
    return caught.value


CASES = {
    "date": (lambda: mapping({"localField": "startTime", "remoteField": "start.dateTime", "transform": "date_format"},
                             "meeting").to_remote({"startTime": "next tuesday"}, MappingContext()),
             "startTime: 'next tuesday' is not an ISO 8601 date-time",
             "startTime: 'next tuesday' אינו תאריך ושעה בתבנית ISO 8601"),
    "rate": (lambda: mapping({"localField": "amount", "remoteField": "Amount", "transform": "currency_convert",
                              "transformConfig": {"from": "GBP", "to": "ILS"}}).to_remote(
                 {"amount": "10"}, MappingContext(on_date=date(2026, 12, 2), rate_lookup=no_rates)),
             "amount: no GBP->ILS exchange rate on or before 2026-12-02",
             "amount: אין שער חליפין GBP->ILS בתאריך 2026-12-02 או לפניו"),
    "amount": (lambda: mapping({"localField": "amount", "remoteField": "Amount", "transform": "currency_convert",
                                "transformConfig": {"from": "GBP", "to": "ILS"}}).to_remote(
                   {"amount": "lots"}, MappingContext()),
               "amount: 'lots' is not an amount", "amount: 'lots' אינו סכום"),
    "link": (lambda: mapping({"localField": "clientId", "remoteField": "CustomerRef.value", "transform": "link",
                              "transformConfig": {"entity": "client"}}).to_remote({"clientId": "c-1"}, MappingContext()),
             "clientId: the client c-1 is not synced yet (no link)",
             "clientId: הרשומה c-1 (לקוח) עדיין לא סונכרנה (אין קישור)"),  # the type by its Hebrew name
    "custom": (lambda: mapping({"localField": "title", "remoteField": "name", "transform": "custom",
                                "transformConfig": {"name": "lower"}}, "meeting").to_remote({"title": 7},
                                                                                          MappingContext()),
               "title: lower needs text, got int", "title: lower דורש טקסט, התקבל int"),
    "guarded": (lambda: mapping({"localField": "amount", "remoteField": "Amount", "transform": "currency_convert",
                                 "transformConfig": {"from": "ILS", "to": "ILS", "decimals": 8}}).to_remote(
                    {"amount": str(Decimal("9e40"))}, MappingContext()),
                "amount: currency_convert cannot convert this value (InvalidOperation)",
                "amount: ההמרה currency_convert אינה יכולה להמיר את הערך הזה (InvalidOperation)"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_mapping_error_is_english_as_text_and_says_itself_in_hebrew_and_english(case):
    fn, english_text, hebrew_text = CASES[case]
    exc = in_language("he", lambda: raised(fn))  # raised in a Hebrew worker: the text is still English

    assert str(exc) == english_text
    assert in_language("he", lambda: say(exc.words)) == hebrew_text
    assert in_language("en", lambda: say(exc.words)) == english_text


def test_the_custom_apis_cursor_and_call_errors_say_themselves_in_the_readers_language():
    class Caller:
        base_url = "https://api.example.com/v1"

    with pytest.raises(CursorInvalid) as caught:
        _same_origin(Caller(), "https://elsewhere.example.net/v1/clients?page=2")
    cursor = caught.value
    assert str(cursor) == "the next-page URL leaves the configured base URL"
    assert in_language("he", cursor.in_words) == "כתובת הדף הבא יוצאת מכתובת הבסיס שהוגדרה"
    assert in_language("en", cursor.in_words) == str(cursor)

    refused = CursorInvalid(words("the API refused the page cursor (HTTP %(status)s)", status=410))
    assert str(refused) == "the API refused the page cursor (HTTP 410)"
    assert in_language("he", refused.in_words) == "ה-API דחה את סמן הדף (HTTP 410)"

    class Refused:
        status, data, text, headers, ok = 422, {"error": "email is required"}, "", {}, False

    call = CustomApiError(pgettext_lazy("custom api call", "create"), Refused())
    assert str(call) == "Custom API create: HTTP 422 (email is required)"
    assert in_language("en", lambda: say(call.words)) == str(call)
    hebrew = in_language("he", lambda: say(call.words))
    assert hebrew == in_language("he", call.in_words) and "create" not in hebrew  # the call's name in Hebrew
    assert "(email is required)" in hebrew  # the API's own words stay as they are


def test_a_wrapper_says_the_record_error_inside_it_and_bad_stored_words_fall_back():
    inner = words("%(value)s is not an amount", value="'x'")
    outer = words("gave up after %(attempts)s attempts: %(error)s", attempts=5, error=inner)
    assert english(outer) == "gave up after 5 attempts: 'x' is not an amount"
    assert in_language("he", lambda: say(outer)) == "הופסק אחרי 5 ניסיונות: 'x' אינו סכום"
    # rows read back untrusted: not words, or placeholders the params do not fill
    assert say({"error": "x"}) is None and say("text") is None
    assert in_language("he", lambda: say({"msgid": "%(value)s is not an amount", "params": {}})) == (
        "%(value)s is not an amount")
    assert failed_item_text({"error": "the provider's own words", "errorWords": 3}) == "the provider's own words"


# --------------------------------------------------------------------------- a run, then its readers
@pytest.fixture
def calendar(memory_provider):  # noqa: F811
    return memory_provider("google_calendar", page_size=5)


def test_a_runs_bad_date_is_kept_in_english_and_read_in_hebrew_or_english(alice, alice_api, calendar):
    # given a remote event whose start is no date, imported by a run (a worker: no request's language)
    calendar.put(None, event("Fine"))
    bad = calendar.put(None, event("Someday", start="next tuesday"))
    integration = connect_calendar(alice, direction="import")
    run = in_language("he", lambda: run_sync(integration))

    # then the log keeps the English text, and the words beside it
    assert run.status == "partial"
    (item,) = run.failed_items
    assert item["entityId"] == bad
    assert item["error"] == "MappingError: start.dateTime: 'next tuesday' is not an ISO 8601 date-time"
    assert item["errorWords"]["params"]["field"] == "start.dateTime"

    # when the API is read in Hebrew and in English
    path = f"/api/integrations/{integration.pk}/logs"
    hebrew = alice_api.get(path, HTTP_ACCEPT_LANGUAGE="he").json()["results"][0]["failedItems"][0]
    english_item = alice_api.get(path, HTTP_ACCEPT_LANGUAGE="en").json()["results"][0]["failedItems"][0]

    # then ``error`` is as stored, and ``errorText`` in the request's language
    assert hebrew["error"] == english_item["error"] == item["error"]
    assert hebrew["errorText"] == "start.dateTime: 'next tuesday' אינו תאריך ושעה בתבנית ISO 8601"
    assert english_item["errorText"] == "start.dateTime: 'next tuesday' is not an ISO 8601 date-time"

    # and the settings page's history and error log say it in the page's language
    client = Client()
    client.force_login(alice.user)
    for part in (f"/integrations/{integration.pk}/history", f"/integrations/{integration.pk}"):
        he_page = client.get(part, HTTP_ACCEPT_LANGUAGE="he").content.decode()
        en_page = client.get(part, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "אינו תאריך ושעה בתבנית ISO 8601" in he_page and "is not an ISO 8601" not in he_page
        assert "is not an ISO 8601 date-time" in en_page and "אינו תאריך" not in en_page


def test_a_failed_runs_error_words_are_said_in_the_readers_language(alice, alice_api):
    integration = connect_calendar(alice, direction="import")
    with tenant_scope(alice.tenant.id):
        entry = run_start(integration=integration, direction="import", options={})
        error = CursorInvalid(words("the API refused the page cursor (HTTP %(status)s)", status=410))
        run_finish(entry=entry, report=RunReport(), error=error)
        entry = IntegrationLog.objects.get(pk=entry.pk)

    assert entry.error_message == "the API refused the page cursor (HTTP 410)"
    assert in_language("he", lambda: run_error_text(entry)) == "ה-API דחה את סמן הדף (HTTP 410)"
    assert in_language("en", lambda: run_error_text(entry)) == entry.error_message

    path = f"/api/integrations/{integration.pk}/logs"
    he_row = alice_api.get(path, HTTP_ACCEPT_LANGUAGE="he").json()["results"][0]
    en_row = alice_api.get(path, HTTP_ACCEPT_LANGUAGE="en").json()["results"][0]
    assert he_row["errorMessage"] == en_row["errorMessage"] == entry.error_message
    assert (he_row["errorText"], en_row["errorText"]) == ("ה-API דחה את סמן הדף (HTTP 410)", entry.error_message)

    client = Client()
    client.force_login(alice.user)
    he_page = client.get(f"/integrations/{integration.pk}", HTTP_ACCEPT_LANGUAGE="he").content.decode()
    en_page = client.get(f"/integrations/{integration.pk}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "ה-API דחה את סמן הדף" in he_page and "refused the page cursor" not in he_page
    assert "the API refused the page cursor (HTTP 410)" in en_page


def test_refused_credentials_are_the_last_error_in_the_pages_language(alice):
    from integrations.providers.adapter import CredentialsRefused

    integration = connect_calendar(alice, direction="import")
    with tenant_scope(alice.tenant.id):
        entry = run_start(integration=integration, direction="import", options={})
        refused = CredentialsRefused(words("the API refused the credentials (HTTP %(status)s)", status=401))
        run_finish(entry=entry, report=RunReport(), error=refused, error_code="provider_expired")

    client = Client()
    client.force_login(alice.user)
    he_page = client.get(f"/integrations/{integration.pk}", HTTP_ACCEPT_LANGUAGE="he").content.decode()
    en_page = client.get(f"/integrations/{integration.pk}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    he_errors, en_errors = he_page[he_page.index('id="errors"'):], en_page[en_page.index('id="errors"'):]
    assert "ה-API דחה את פרטי ההתחברות (HTTP 401)" in he_errors and "refused the credentials" not in he_errors
    assert "the API refused the credentials (HTTP 401)" in en_errors


def test_a_failed_runs_live_line_is_said_by_the_server_in_the_readers_language(alice, bob):
    """The settings page's live box asks /run-text for a failed run's line (the sync_failed
    event's ``error`` is English for every reader, C9); a bad id is a 400, another studio's
    run a 404."""
    integration = connect_calendar(alice, direction="import")
    with tenant_scope(alice.tenant.id):
        entry = run_start(integration=integration, direction="import", options={})
        run_finish(entry=entry, report=RunReport(),
                   error=CursorInvalid(words("the API refused the page cursor (HTTP %(status)s)", status=410)))

    client = Client()
    client.force_login(alice.user)
    path = f"/integrations/{integration.pk}/run-text?log={entry.pk}"
    he_line = client.get(path, HTTP_ACCEPT_LANGUAGE="he")
    en_line = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert he_line.status_code == en_line.status_code == 200
    assert he_line.content.decode() == 'הסנכרון נכשל — <span dir="auto">ה-API דחה את סמן הדף (HTTP 410)</span>'
    assert en_line.content.decode() == 'Sync failed — <span dir="auto">the API refused the page cursor (HTTP 410)</span>'
    bad = client.get(f"/integrations/{integration.pk}/run-text?log=nope", HTTP_ACCEPT_LANGUAGE="he")
    assert bad.status_code == 400 and "ההרצה אינה תקינה." in bad.content.decode()

    theirs = connect_calendar(bob, direction="import")
    with tenant_scope(bob.tenant.id):
        other = run_start(integration=theirs, direction="import", options={})
    assert client.get(f"/integrations/{integration.pk}/run-text?log={other.pk}").status_code == 404
    assert client.get(f"/integrations/{theirs.pk}/run-text?log={other.pk}").status_code == 404


def test_a_documents_file_that_cannot_be_read_says_why_in_the_readers_language(settings):
    """The hardened client's refusal (core.outbound) inside the sync's own words: the failed
    item keeps the English, and its words say both in Hebrew (issue 14 item 6)."""
    from integrations.sync.files import FileUnavailable, document_file
    from integrations.sync.importer import described_words

    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(FileUnavailable) as caught:
        with document_file({"fileUrl": "http://10.0.0.1/plan.pdf"}, name="plan.pdf"):
            pass
    assert str(caught.value) == "the document's file could not be read: refused: private address 10.0.0.1"
    assert in_language("he", caught.value.in_words) == "לא ניתן לקרוא את קובץ המסמך: נדחה: כתובת פרטית 10.0.0.1"
    assert in_language("en", lambda: say(described_words(caught.value))) == str(caught.value)
