"""Settings shared by the three calendar adapters (seed section ג, GoogleCalendarConfig.settings).

``Integration.settings`` of a calendar integration, stored camelCase as the seed writes it::

    {"calendars": [{"calendarId", "calendarName", "color", "syncEnabled"}],
     "syncMeetings": true, "syncTasks": false, "syncDeliveries": false,
     "autoCreateEvents": true, "autoCreateMeetings": true}

``calendars`` is filled from the provider's calendar list on connect (``primary`` enabled);
a PATCH may rename, recolour and enable/disable them. Validation is strict: unknown keys,
non-boolean flags, over-long strings and lists are refused with the key named. The seed's
``direction`` lives in ``syncSettings`` (one place for it), so it is refused here. One key
beyond the seed, optional: ``timeZone`` (IANA name) for the date transforms; absent means
Asia/Jerusalem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from integrations.providers.common import is_zone

# The seed's GOOGLE_CALENDAR_MAPPING (section ג) for the three calendars (the CalDAV adapter
# builds Google-like dicts). Two deliberate differences: start/end carry date_format, and
# attendees map to ``attendees[].email`` since a local meeting holds emails while every
# calendar API holds attendee objects (the seed's plain mapping would send bare strings).
DEFAULT_CALENDAR_MAPPING: list[dict[str, Any]] = [
    {"localEntity": "meeting", "localField": "title", "remoteField": "summary"},
    {"localEntity": "meeting", "localField": "description", "remoteField": "description"},
    {"localEntity": "meeting", "localField": "startTime", "remoteField": "start.dateTime", "transform": "date_format"},
    {"localEntity": "meeting", "localField": "endTime", "remoteField": "end.dateTime", "transform": "date_format"},
    {"localEntity": "meeting", "localField": "location", "remoteField": "location"},
    {"localEntity": "meeting", "localField": "attendees", "remoteField": "attendees[].email"},
]

MAX_CALENDARS = 50
MAX_ID, MAX_NAME, MAX_COLOR = 500, 200, 30
FLAGS = ("syncMeetings", "syncTasks", "syncDeliveries", "autoCreateEvents", "autoCreateMeetings")
CALENDAR_KEYS = ("calendarId", "calendarName", "color", "syncEnabled")
_COLOR = re.compile(r"^(#[0-9A-Fa-f]{3}|#[0-9A-Fa-f]{6}|[A-Za-z0-9_-]{1,30})$")


class CalendarSettings:
    """Mixin for a ProviderAdapter (listed first): the calendars' settings defaults and checks."""

    def settings_defaults(self) -> dict[str, Any]:
        return {"calendars": [], "syncMeetings": True, "syncTasks": False, "syncDeliveries": False,
                "autoCreateEvents": True, "autoCreateMeetings": True}

    def settings_errors(self, value: Mapping[str, Any]) -> dict[str, list[str]]:
        if not isinstance(value, Mapping):
            return {"settings": [_("must be an object")]}
        errors: dict[str, list[str]] = {}
        for key in sorted(set(value) - {"calendars", "timeZone", *FLAGS}):
            errors[str(key)[:100]] = [_("unknown setting (known: %(known)s)")
                                       % {"known": ", ".join(("calendars", *FLAGS, "timeZone"))}]
        if "timeZone" in value and not is_zone(value["timeZone"]):
            errors["timeZone"] = [_("must be an IANA time zone name such as 'Asia/Jerusalem'")]
        for key in FLAGS:
            if key in value and not isinstance(value[key], bool):
                errors[key] = [_("must be true or false")]
        if "calendars" in value:
            errors.update(_calendar_errors(value["calendars"]))
        return errors


def _calendar_errors(calendars: Any) -> dict[str, list[str]]:
    if not isinstance(calendars, list) or len(calendars) > MAX_CALENDARS:
        return {"calendars": [_("must be a list of at most %(n)s calendars") % {"n": MAX_CALENDARS}]}
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for i, item in enumerate(calendars):
        where = f"calendars[{i}]"
        if not isinstance(item, dict):
            errors[where] = [_("must be an object {calendarId, calendarName, color, syncEnabled}")]
            continue
        problems = [_("unknown key %(key)s") % {"key": repr(str(k)[:50])} for k in sorted(set(item) - set(CALENDAR_KEYS))]
        cid = item.get("calendarId")
        if not isinstance(cid, str) or not cid.strip() or len(cid) > MAX_ID:
            problems.append(_("calendarId must be a non-empty string of at most %(n)s characters") % {"n": MAX_ID})
        elif cid in seen:
            problems.append(_("calendarId %(id)s is listed twice") % {"id": repr(cid[:50])})
        else:
            seen.add(cid)
        name = item.get("calendarName", "")
        if not isinstance(name, str) or len(name) > MAX_NAME:
            problems.append(_("calendarName must be a string of at most %(n)s characters") % {"n": MAX_NAME})
        color = item.get("color", "")
        if not isinstance(color, str) or (color and not _COLOR.match(color)):
            problems.append(_("color must be '#rgb', '#rrggbb' or a provider colour name (at most 30 characters)"))
        if not isinstance(item.get("syncEnabled"), bool):
            problems.append(_("syncEnabled must be true or false"))
        if problems:
            errors[where] = problems
    return errors
