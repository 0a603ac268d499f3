"""``since``: "last sync" as relative time in the page's language; dates localized."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.template import Context, Template
from django.utils import timezone, translation


def _render(source: str, **context) -> str:
    return Template("{% load hub_format %}" + source).render(Context(context)).strip()


def test_since_is_hebrew_or_english_relative_time():
    three_hours_ago = timezone.now() - timedelta(hours=3)
    with translation.override("he"):
        assert _render("{{ t|since }}", t=three_hours_ago) == "לפני 3\xa0שעות"
        assert _render("{{ t|since }}", t=(timezone.now() - timedelta(days=2)).isoformat()) == "לפני יומיים"
        assert _render("{{ t|since }}", t=None) == "אף פעם"
    with translation.override("en"):
        assert _render("{{ t|since }}", t=three_hours_ago) == "3\xa0hours ago"
        assert _render("{{ t|since }}", t="") == "Never"
    assert _render("{{ t|since }}", t="not a date") == "not a date"


def test_dates_follow_the_language():
    moment = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
    with translation.override("he"):
        assert "מרץ" in _render("{{ d|date }}", d=moment)
    with translation.override("en"):
        assert "March" in _render("{{ d|date }}", d=moment)
