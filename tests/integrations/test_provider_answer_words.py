"""Wrappers around a provider's answer follow the page's language (issue 14 item 6): the
hub's own words (a prefix, the provider's catalog name, the kind of failure) are translated,
what the provider itself said is data and stays as it is."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from core.words import words
from integrations import services
from integrations.client import ProviderError
from integrations.pages.provider_settings import provider_error_text
from integrations.pages.settings import connection_test_failure_text
from integrations.providers.adapter import CursorInvalid
from integrations.providers.catalog import PROVIDERS
from tests.support.oauth import make_oauth_integration

GOOGLE = PROVIDERS["google_calendar"]


def said(code: str, fn):
    with translation.override(code):
        return fn()


def test_the_provider_answered_prefix_is_translated_and_the_providers_words_are_not():
    answer = ProviderError("server", "backendError: try later", status=503)
    assert said("he", lambda: provider_error_text(answer)) == "תשובת הספק: backendError: try later"
    assert said("en", lambda: provider_error_text(answer)) == "The provider answered: backendError: try later"
    # an adapter error that says itself (the custom API's cursor) is said in the page's language too
    cursor = CursorInvalid(words("the API refused the page cursor (HTTP %(status)s)", status=410))
    assert said("he", lambda: provider_error_text(cursor)) == "תשובת הספק: ה-API דחה את סמן הדף (HTTP 410)"
    assert said("en", lambda: provider_error_text(cursor)) == (
        "The provider answered: the API refused the page cursor (HTTP 410)")


@pytest.mark.parametrize(("result", "hebrew", "english"), [
    (services.TestResult(False, 401, "Google Calendar answered HTTP 401", 5),
     f"{GOOGLE.name_he} דחה את פרטי ההתחברות של החיבור (HTTP 401): יש לחבר אותו מחדש.",
     "Google Calendar refused the connection's credentials (HTTP 401): reconnect it."),
    (services.TestResult(False, 500, "Google Calendar answered HTTP 500", 5),
     f"{GOOGLE.name_he} השיב HTTP 500.", "Google Calendar answered HTTP 500."),
    (services.TestResult(False, None, "the server's host name does not resolve", 5, "network"),
     f"לא ניתן היה להגיע אל {GOOGLE.name_he}", "Google Calendar could not be reached (no answer in time)."),
    (services.TestResult(False, None, "refused to call that server: private address", 5, "refused"),
     "המערכת אינה פונה לכתובת השרת הזו (כתובת פרטית או חסומה).",
     "The hub does not call this server address (a private or blocked address)."),
    (services.TestResult(False, None, "Quota exceeded for quota metric", 5, "server"),
     "תשובת הספק: Quota exceeded for quota metric", "The provider answered: Quota exceeded for quota metric"),
])
def test_a_failed_connection_test_is_worded_in_the_pages_language(result, hebrew, english):
    he_text = said("he", lambda: connection_test_failure_text(result, GOOGLE))
    en_text = said("en", lambda: connection_test_failure_text(result, GOOGLE))
    assert hebrew in he_text and "answered" not in he_text and "refused" not in he_text
    assert english in en_text


@pytest.mark.django_db
def test_the_settings_pages_connection_test_shows_the_failure_in_hebrew_or_english(alice, monkeypatch):
    integration = make_oauth_integration(alice, "google_calendar", access="ya29.secret-access")
    monkeypatch.setattr(services, "integration_test", lambda *, integration: services.TestResult(
        False, 401, "Google Calendar answered HTTP 401", 5))
    web = Client()
    web.force_login(alice.user)
    hebrew = web.post(f"/integrations/{integration.pk}/test", HTTP_ACCEPT_LANGUAGE="he").content.decode()
    english = web.post(f"/integrations/{integration.pk}/test", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"{GOOGLE.name_he} דחה את פרטי ההתחברות" in hebrew and "answered" not in hebrew
    assert "Google Calendar refused the connection&#x27;s credentials (HTTP 401)" in english


def _answering(status: int):
    from integrations.client import ApiResponse

    class Client:
        def test_connection(self):
            return ApiResponse(status=status, headers={}, text="", attempts=1,
                               request_snapshot={"method": "GET", "url": "https://example.com/"},
                               response_snapshot={"status": status})

    return classmethod(lambda cls, integration, **kwargs: Client())


@pytest.mark.django_db
def test_a_failed_connection_tests_stored_error_is_read_in_the_readers_language(alice, alice_api, monkeypatch):
    """A refused test (HTTP 401) is kept as the integration's last error and a log row: the
    settings page (errors, history) and the API (``lastErrorText``, ``messageText``, the logs'
    ``errorText``) say it in the reader's language, the provider by its catalog name there."""
    integration = make_oauth_integration(alice, "google_calendar", access="ya29.secret-access")
    monkeypatch.setattr(services.ProviderClient, "for_integration", _answering(401))

    answer = alice_api.post(f"/api/integrations/{integration.pk}/test", HTTP_ACCEPT_LANGUAGE="he").json()
    hebrew = f"{GOOGLE.name_he} דחה את פרטי ההתחברות של החיבור (HTTP 401): יש לחבר אותו מחדש."
    english = "Google Calendar refused the connection's credentials (HTTP 401): reconnect it."
    assert (answer["ok"], answer["httpStatus"]) == (False, 401)
    assert answer["message"] == english  # the English text machines read, as stored
    assert answer["messageText"] == hebrew

    he_api = alice_api.get(f"/api/integrations/{integration.pk}", HTTP_ACCEPT_LANGUAGE="he").json()
    en_api = alice_api.get(f"/api/integrations/{integration.pk}", HTTP_ACCEPT_LANGUAGE="en").json()
    assert he_api["lastError"] == en_api["lastError"] == english
    assert (he_api["lastErrorText"], en_api["lastErrorText"]) == (hebrew, english)
    logs = f"/api/integrations/{integration.pk}/logs?action=test"
    he_row = alice_api.get(logs, HTTP_ACCEPT_LANGUAGE="he").json()["results"][0]
    en_row = alice_api.get(logs, HTTP_ACCEPT_LANGUAGE="en").json()["results"][0]
    assert (he_row["errorText"], en_row["errorText"]) == (hebrew, english)

    web = Client()
    web.force_login(alice.user)
    for part in (f"/integrations/{integration.pk}", f"/integrations/{integration.pk}/history?action=test"):
        he_page = web.get(part, HTTP_ACCEPT_LANGUAGE="he").content.decode()
        en_page = web.get(part, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert f"{GOOGLE.name_he} דחה את פרטי ההתחברות" in he_page
        assert "answered HTTP" not in he_page and "refused the connection" not in he_page
        assert "Google Calendar refused the connection&#x27;s credentials (HTTP 401)" in en_page


@pytest.mark.django_db
def test_a_connection_test_answering_500_is_read_in_the_readers_language(alice, alice_api, monkeypatch):
    integration = make_oauth_integration(alice, "google_calendar", access="ya29.secret-access")
    monkeypatch.setattr(services.ProviderClient, "for_integration", _answering(500))
    answer = alice_api.post(f"/api/integrations/{integration.pk}/test", HTTP_ACCEPT_LANGUAGE="he").json()
    assert answer["message"] == "Google Calendar answered HTTP 500."
    assert answer["messageText"] == f"{GOOGLE.name_he} השיב HTTP 500."
    english = alice_api.post(f"/api/integrations/{integration.pk}/test", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["messageText"] == english["message"] == "Google Calendar answered HTTP 500."
    logs = f"/api/integrations/{integration.pk}/logs?action=test"
    he_row = alice_api.get(logs, HTTP_ACCEPT_LANGUAGE="he").json()["results"][0]
    assert he_row["errorText"] == f"{GOOGLE.name_he} השיב HTTP 500." and "answered" not in he_row["errorText"]


def test_a_name_kept_in_each_language_is_said_in_the_readers_language():
    said_words = words("%(name)s answered HTTP %(status)s.", name=services.provider_names(GOOGLE), status=500)
    from core.words import english, say

    assert english(said_words) == "Google Calendar answered HTTP 500."
    assert said("he", lambda: say(said_words)) == f"{GOOGLE.name_he} השיב HTTP 500."
    assert said("en-us", lambda: say(said_words)) == "Google Calendar answered HTTP 500."
    # read back untrusted: a names param of another shape is data, shown as it is
    odd = words("%(name)s answered HTTP %(status)s.", name={"names": {"he": 3}}, status=500)
    assert said("he", lambda: say(odd)).endswith("השיב HTTP 500.")
