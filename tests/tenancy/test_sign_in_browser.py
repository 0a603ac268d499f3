"""Signing in and out of the studio in a real browser (issue 14 items 1, 6, 9): the Hebrew
/login page, a wrong password, the right one, sign-out, the password-reset mail; the pages
pass axe-core and have no untranslated word; screenshots in Hebrew and English."""

from __future__ import annotations

import pytest
from django.core import mail

from tests.support.browser import PASSWORD, assert_accessible, assert_translated, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _fresh_login_limits():
    from tests.tenancy.test_sign_in import _clear_limits

    _clear_limits()


def test_wrong_password_shows_a_hebrew_error_and_the_right_one_lands_on_integrations(studio, logged_in):
    page = logged_in(None).new_page()
    page.goto("/integrations")
    assert page.url.endswith("/login?next=/integrations")
    assert page.get_by_role("heading", level=1).inner_text() == "כניסה לסטודיו"
    assert_translated(page)
    assert_accessible(page)
    screenshot(page, "login")

    page.get_by_label("דוא״ל").fill("owner@cohen-studio.example")
    page.get_by_label("סיסמה").fill("not-the-password")
    with page.expect_navigation():
        page.get_by_role("button", name="כניסה").click()
    assert page.get_by_role("alert").inner_text() == "הדוא״ל או הסיסמה שגויים."
    assert_translated(page)

    page.get_by_label("סיסמה").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="כניסה").click()
    assert page.url.endswith("/integrations")
    assert page.get_by_role("heading", level=1).inner_text() == "אינטגרציות — סטודיו כהן"
    nav = page.get_by_role("navigation", name="ראשי")
    assert nav.get_by_role("link", name="אינטגרציות").get_attribute("aria-current") == "page"
    assert nav.get_by_role("link", name="Webhooks").count() == 1
    assert nav.get_by_role("link", name="ניהול המערכת").count() == 0  # not staff
    assert page.get_by_text("owner@cohen-studio.example").count() == 1


def test_sign_out_ends_the_session(studio, logged_in):
    page = logged_in("owner").new_page()
    page.goto("/integrations")
    with page.expect_navigation():
        page.get_by_role("button", name="יציאה").click()
    assert page.url.endswith("/login")
    page.goto("/integrations")
    assert "/login" in page.url


def test_login_page_in_english(studio, logged_in):
    page = logged_in(None, lang="en").new_page()
    page.goto("/login")
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in to your studio"
    assert_accessible(page)
    screenshot(page, "login")


def test_password_reset_sends_the_mail(studio, logged_in):
    page = logged_in(None).new_page()
    page.goto("/login")
    with page.expect_navigation():
        page.get_by_role("link", name="שכחתם את הסיסמה?").click()
    assert_translated(page)
    assert_accessible(page)
    page.get_by_label("דוא״ל").fill("owner@cohen-studio.example")
    with page.expect_navigation():
        page.get_by_role("button", name="שליחת קישור איפוס").click()
    assert page.get_by_role("heading", level=1).inner_text() == "בדקו את תיבת הדוא״ל"
    assert_translated(page)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@cohen-studio.example"]
    assert "/password-reset/" in mail.outbox[0].body
    assert "איפוס סיסמה" in mail.outbox[0].subject
