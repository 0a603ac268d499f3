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
