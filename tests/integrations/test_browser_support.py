"""The browser-test helpers (tests/support/browser.py) can fail: each check is shown a page
that breaks it, and a page that passes."""

from __future__ import annotations

import pytest

from tests.support.browser import (
    assert_translated,
    axe_violations,
    has_horizontal_scroll,
    screenshot,
    untranslated_words,
)

pytestmark = pytest.mark.browser

CLEAN_HE = """<!doctype html><html lang="he" dir="rtl"><head><title>אינטגרציות · Architect Studio</title></head>
<body><main><h1>אינטגרציות</h1><p>חברו את Google Calendar ו-HubSpot. כתבו ל-help@studio.example
או בקרו ב-https://studio.example/help. מזהה: 3f2b1c9e-1111-4222-8333-944455556666</p>
<label for="q">חיפוש</label><input id="q" placeholder="שם ספק"></main></body></html>"""


def test_untranslated_words_finds_english_and_spares_brands_emails_urls_ids():
    assert untranslated_words("חיבור Google Calendar נכשל: Connection failed") == ["Connection", "failed"]
    assert untranslated_words("a@b.example https://x.example/y /integrations/abc sync_run v2 {{ entity.id }}") == []
    assert untranslated_words("Architect Studio · English · מפתח API") == []
    assert untranslated_words("סטודיו Alice", allow={"Alice"}) == []


def test_assert_translated_passes_a_hebrew_page_and_fails_one_english_word(chromium):
    page = chromium.new_page()
    page.set_content(CLEAN_HE)
    assert_translated(page)

    page.set_content(CLEAN_HE.replace("<h1>אינטגרציות</h1>", "<h1>אינטגרציות Settings</h1>"))
    with pytest.raises(AssertionError, match="Settings"):
        assert_translated(page)

    page.set_content(CLEAN_HE.replace('placeholder="שם ספק"', 'placeholder="Search"'))
    with pytest.raises(AssertionError, match="Search"):  # what a screen reader says counts too
        assert_translated(page)

    page.set_content(CLEAN_HE.replace('dir="rtl"', 'dir="ltr"'))
    with pytest.raises(AssertionError, match="right-to-left"):
        assert_translated(page)


def test_assert_translated_spares_code_but_not_the_same_word_as_prose(chromium):
    page = chromium.new_page()
    with_code = CLEAN_HE.replace("</main>", '<p>סינון לפי <code dir="ltr">updatedSinceParam</code></p></main>')
    page.set_content(with_code)
    assert_translated(page)

    page.set_content(with_code.replace("</main>", "<p>updatedSinceParam is unknown</p></main>"))
    with pytest.raises(AssertionError, match="unknown"):  # prose next to the code still counts
        assert_translated(page)

    page.set_content(CLEAN_HE.replace("</main>", '<p>Settings</p><code hidden>Settings</code></main>'))
    with pytest.raises(AssertionError, match="Settings"):  # hidden code spares nothing
        assert_translated(page)


def test_axe_violations_reports_serious_and_critical_only(chromium):
    page = chromium.new_page()
    page.set_content(CLEAN_HE)
    assert axe_violations(page) == []

    page.set_content(CLEAN_HE.replace('<label for="q">חיפוש</label>', "").replace(' placeholder="שם ספק"', "")
                     .replace("</main>", '<button></button><img src="data:,"></main>'))
    found = {v["id"]: v["impact"] for v in axe_violations(page)}
    assert found.get("button-name") == "critical"
    assert found.get("image-alt") == "critical"
    assert found.get("label") == "critical"
    assert all(impact in ("serious", "critical") for impact in found.values())
    # a moderate rule (a heading level skipped) is not reported by default, but is when asked
    page.set_content(CLEAN_HE.replace("<h1>אינטגרציות</h1>", "<h1>אינטגרציות</h1><h4>פרטים</h4>"))
    assert "heading-order" not in {v["id"] for v in axe_violations(page)}
    assert "heading-order" in {v["id"] for v in axe_violations(page, impacts=("moderate",))}


def test_screenshot_saves_a_png_under_the_pages_language(chromium, tmp_path):
    page = chromium.new_page()
    page.set_content(CLEAN_HE)
    saved = screenshot(page, "support-check", directory=tmp_path)
    assert saved == tmp_path / "he" / "support-check.png"
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page.set_content("<html><body>no lang</body></html>")
    with pytest.raises(AssertionError, match="lang"):
        screenshot(page, "no-lang", directory=tmp_path)
    with pytest.raises(AssertionError, match="slug"):
        screenshot(page, "../escape", directory=tmp_path)


def test_horizontal_scroll_is_detected_at_360px(chromium):
    page = chromium.new_page(viewport={"width": 360, "height": 740})
    page.set_content(CLEAN_HE)
    assert not has_horizontal_scroll(page)
    page.set_content(CLEAN_HE.replace("</main>", '<div style="width:900px">רחב</div></main>'))
    assert has_horizontal_scroll(page)


def test_logged_in_contexts_are_the_owner_and_the_member_in_hebrew_or_english(studio, logged_in, live_server):
    owner = logged_in("owner").new_page()
    owner.goto("/integrations")
    assert owner.locator("html").get_attribute("lang") == "he"
    assert owner.locator("h1").inner_text() == "אינטגרציות — סטודיו כהן"

    member = logged_in("member", lang="en").new_page()
    member.goto("/integrations")
    assert member.locator("html").get_attribute("lang") == "en"
    assert member.locator("h1").inner_text().startswith("Integrations")

    anonymous = logged_in(None).new_page()
    anonymous.goto("/integrations")
    assert anonymous.url.endswith("/login?next=/integrations")  # sent to sign in
