"""The catalog's maturity note shown to the studio (issue 15: where a provider publishes too
little to build against, "the catalog's maturity flag says exactly what is unverified, and the
UI shows it"): a "What is not verified" disclosure on every card marked "Partial support" /
"Experimental" on /integrations and near the header of such an integration's settings page,
in the page's language -- the Hebrew translation (integrations/locale) on a Hebrew page, with
the identifiers it quotes as left-to-right <code> -- and ``maturityNoteHe`` in the API.
The browser check (the disclosure opens, axe, no untranslated word) is in
test_maturity_note_browser.py."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from integrations.providers.catalog import PROVIDERS, get_provider
from tests.support.browser import untranslated_words
from tests.support.oauth import make_oauth_integration

# A few words of the Hebrew translations, and the identifiers they quote (shown as code).
CANVA_HE = "נבדק רק מול נתוני בדיקה במבנה הדוגמאות שבתיעוד"
HUBSPOT_HE = "אנשי קשר מסונכרנים עם לקוחות בשני הכיוונים"
NOT_STABLE = [pid for pid, p in PROVIDERS.items() if p.maturity != "stable"]


def browser(persona, lang: str = "he") -> Client:
    client = Client()
    client.force_login(persona.user)
    if lang != "he":
        client.cookies["django_language"] = lang
    return client


def card_of(html: str, provider: str) -> str:
    start = html.index(f'id="provider-{provider}"')
    return html[start:html.index("</article>", start)]


def disclosure(html: str) -> str:
    """The first maturity disclosure in ``html`` ("" when there is none)."""
    found = re.search(r'<details class="maturity-note[^"]*"[^>]*>.*?</details>', html, re.S)
    return found.group(0) if found else ""


def hebrew(provider_id: str) -> str:
    with translation.override("he"):
        return gettext(get_provider(provider_id).maturity_note)


def as_html(note: str) -> str:
    """The note as the page renders it: escaped, `identifiers` as <code dir="ltr">."""
    return re.sub(r"`([^`]+)`", r'<code dir="ltr">\1</code>', escape(note))


# ----------------------------------------------------------------------------- the translations
def test_every_maturity_note_has_a_hebrew_translation_without_untranslated_words():
    """Each note is translated, and the Hebrew keeps in Latin letters only brand/provider names,
    technical acronyms and identifiers (the latter between backticks, shown as code)."""
    notes = {pid: p.maturity_note for pid, p in PROVIDERS.items() if p.maturity_note}
    assert set(NOT_STABLE) <= set(notes)
    for pid, english in notes.items():
        text = hebrew(pid)
        assert text != english, f"{pid}: no Hebrew translation of its maturity note"
        assert text.count("`") % 2 == 0, f"{pid}: an unclosed backtick"
        prose = re.sub(r"`[^`]+`", " ", text)
        assert untranslated_words(prose, allow={"Audience"}) == [], pid


# ----------------------------------------------------------------------------- the integrations page
@pytest.mark.django_db
def test_each_partly_supported_card_has_the_note_in_hebrew_in_a_disclosure(alice):
    html = browser(alice).get("/integrations").content.decode()
    for pid in PROVIDERS:
        details = disclosure(card_of(html, pid))
        if pid not in NOT_STABLE:
            assert details == "", f"{pid} is stable: no note on its card"
            continue
        assert f'id="provider-{pid}-maturity"' in details
        assert re.search(r"<summary>מה לא אומת<span class=\"visually-hidden\"> — [^<]+</span></summary>", details)
        assert as_html(hebrew(pid)) in details, pid
        assert escape(get_provider(pid).maturity_note) not in details  # not the English
    canva = disclosure(card_of(html, "canva"))
    assert CANVA_HE in canva and '<code dir="ltr">Connect API</code>' in canva


@pytest.mark.django_db
def test_the_card_note_is_english_on_the_english_page(alice):
    html = browser(alice, "en").get("/integrations").content.decode()
    details = disclosure(card_of(html, "canva"))
    assert "<summary>What is not verified<span" in details
    assert escape(get_provider("canva").maturity_note) in details
    assert CANVA_HE not in details
    assert disclosure(card_of(html, "google_calendar")) == ""


@pytest.mark.django_db
def test_the_card_url_answers_the_card_with_its_note(alice):
    card = browser(alice).get("/integrations/providers/priority/card").content.decode()
    assert as_html(hebrew("priority")) in disclosure(card)


# ----------------------------------------------------------------------------- the settings page
@pytest.mark.django_db
def test_a_partly_supported_integrations_settings_page_shows_the_note_under_its_title(alice):
    integration = make_oauth_integration(alice, "hubspot", access="hubspot-access")
    html = browser(alice).get(f"/integrations/{integration.pk}").content.decode()
    details = disclosure(html)
    assert details, "no maturity note on the settings page"
    assert html.index("</h1>") < html.index(details) < html.index('id="connection"')  # by the header
    assert "<summary><strong>תמיכה חלקית</strong>: מה לא אומת</summary>" in details
    assert HUBSPOT_HE in details and as_html(hebrew("hubspot")) in details
    assert '<code dir="ltr">BAD_REFRESH_TOKEN</code>' in details

    english = browser(alice, "en").get(f"/integrations/{integration.pk}").content.decode()
    details = disclosure(english)
    assert "<summary><strong>Partial support</strong>: What is not verified</summary>" in details
    assert escape(get_provider("hubspot").maturity_note) in details and HUBSPOT_HE not in details


@pytest.mark.django_db
def test_a_stable_integrations_settings_page_has_no_note(alice):
    integration = make_oauth_integration(alice, "google_calendar", access="ya29.access")
    for lang in ("he", "en"):
        html = browser(alice, lang).get(f"/integrations/{integration.pk}").content.decode()
        assert disclosure(html) == "" and "maturity-note" not in html


# ----------------------------------------------------------------------------- the API
@pytest.mark.django_db
def test_the_providers_endpoint_gives_the_note_in_english_and_hebrew(alice_api):
    categories = alice_api.get("/api/integrations/providers").json()["categories"]
    providers = {p["id"]: p for c in categories for p in c["providers"]}
    for pid, provider in PROVIDERS.items():
        assert providers[pid]["maturityNote"] == provider.maturity_note  # unchanged: the English
        assert providers[pid]["maturityNoteHe"] == (hebrew(pid) if provider.maturity_note else "")
    assert providers["canva"]["maturityNoteHe"].startswith(CANVA_HE)
    assert providers["google_calendar"]["maturityNoteHe"] == ""
    # the same whatever the request's language (like nameHe / descriptionHe)
    english = alice_api.get("/api/integrations/providers", HTTP_ACCEPT_LANGUAGE="en").json()["categories"]
    assert [p["maturityNoteHe"] for c in english for p in c["providers"]] == \
        [p["maturityNoteHe"] for c in categories for p in c["providers"]]
