"""Formatting for the studio's pages: ``{% load hub_format %}``.

``{{ value|since }}``: a moment as relative time in the active language ("לפני 3 שעות",
"3 hours ago"; django.contrib.humanize's naturaltime), "Never" when empty; ``value`` is a
datetime or an ISO 8601 string (the catalog's JSON-shaped dicts carry strings). Wrap it as
``<time datetime="{{ value }}">{{ value|since }}</time>`` so the exact moment stays readable.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def since(value) -> str:
    if not value:
        return _("Never")
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            return value
        value = parsed
    if not isinstance(value, datetime):
        return str(value)
    return naturaltime(value)
