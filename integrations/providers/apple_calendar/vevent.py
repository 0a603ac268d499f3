"""iCalendar (RFC 5545) for the Apple Calendar adapter: a VEVENT as the record dict the field
mappings address, and that dict back into a VEVENT, with the ``icalendar`` library.

The record dict (``RemoteChange.raw``; what ``push_create`` / ``push_update`` receive), named
like Google's Event resource so one default mapping serves the three calendars::

    {
      "uid": "5f0c…",                       # UID (set by the adapter on create; ignored on push)
      "summary": "Site visit", "description": "…", "location": "…",   # text or None
      "start": {"dateTime": "2026-12-10T10:00:00+02:00", "timeZone": "Asia/Jerusalem"}
               | {"dateTime": "2026-12-10T08:00:00+00:00"}          # UTC (…Z) in the VEVENT
               | {"date": "2026-12-24"},                            # all-day (VALUE=DATE)
      "end": {...same...},                   # DTEND, else DTSTART + DURATION, else RFC 5545's
                                             # default (all-day: one day; timed: DTSTART)
      "attendees": [{"email": "a@b.c", "displayName"?: CN, "responseStatus"?: PARTSTAT as Google
                     spells it (needsAction, accepted, declined, tentative)}],
      "status": "confirmed" | "tentative" | "cancelled" | None,
      "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"],    # read only: a series syncs as its master
      "sequence": 0,                         # SEQUENCE (bumped by the adapter on every update)
      "lastModified": "2026-12-01T08:00:00+00:00",    # LAST-MODIFIED, else DTSTAMP (UTC)
    }

On push only the keys present are written; a key present with None or "" removes the
property; what the record does not name (alarms, organizer, categories, RRULE, other
clients' X- properties) is kept on update. ``start.timeZone`` (an IANA name) writes a
TZID with its VTIMEZONE; an offset alone is written in UTC; a date-time without offset
or zone is written floating. An object holding several VEVENTs (a series and its
overridden instances) is read and updated through its master (the one without
RECURRENCE-ID).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, vCalAddress

PRODID = "-//Architect Studio//Integrations Hub//EN"
#: The hub's id on every event it created (issue 11 item 4), so a full resync re-links.
HUB_ID = "X-ARCHITECT-STUDIO-ID"

_TEXT = {"summary": "SUMMARY", "description": "DESCRIPTION", "location": "LOCATION"}
_PARTSTAT = {"NEEDS-ACTION": "needsAction", "ACCEPTED": "accepted", "DECLINED": "declined",
             "TENTATIVE": "tentative"}
_STATUS = {"confirmed": "CONFIRMED", "tentative": "TENTATIVE", "cancelled": "CANCELLED"}


# ----------------------------------------------------------------- reading
def parse(text: str) -> Calendar:
    return Calendar.from_ical(text)


def master(calendar: Calendar) -> Event | None:
    """The object's main VEVENT (None for a VTODO or VJOURNAL object)."""
    events = calendar.walk("VEVENT")
    return next((e for e in events if "RECURRENCE-ID" not in e), events[0] if events else None)


def hub_id(event: Event) -> str | None:
    value = event.get(HUB_ID)
    return str(value) if value not in (None, "") else None


def modified_at(event: Event) -> datetime | None:
    for name in ("LAST-MODIFIED", "DTSTAMP"):
        value = getattr(event.get(name), "dt", None)
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return None


def to_record(event: Event) -> dict[str, Any]:
    """The record dict of one VEVENT (the module docstring documents its shape)."""
    changed = modified_at(event)
    start = _when(event.get("DTSTART"))
    return {
        "uid": _text(event.get("UID")),
        **{key: _text(event.get(name)) for key, name in _TEXT.items()},
        "start": start,
        "end": _when(event.get("DTEND")) or _implied_end(event),
        "attendees": [_attendee(a) for a in _as_list(event.get("ATTENDEE"))],
        "status": str(event["STATUS"]).lower() if event.get("STATUS") else None,
        "recurrence": [f"RRULE:{r.to_ical().decode()}" for r in _as_list(event.get("RRULE"))],
        "sequence": _int(event.get("SEQUENCE")),
        "lastModified": changed.isoformat() if changed else None,
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int:
    """An integer property; 0 when absent or unreadable (icalendar keeps a bad value as vBroken)."""
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError):
        return 0


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _when(prop: Any) -> dict[str, str] | None:
    value = getattr(prop, "dt", None)  # None when absent or unreadable (vBroken)
    if not isinstance(value, date):
        return None
    if not isinstance(value, datetime):
        return {"date": value.isoformat()}
    out = {"dateTime": value.isoformat()}
    tzid = prop.params.get("TZID")
    if tzid and value.tzinfo is not None:
        out["timeZone"] = str(tzid)
    return out


def _implied_end(event: Event) -> dict[str, str] | None:
    """RFC 5545 §3.6.1: DTSTART + DURATION; else one day for a date, DTSTART for a date-time."""
    prop = event.get("DTSTART")
    start = getattr(prop, "dt", None)
    if not isinstance(start, date):
        return None
    duration = getattr(event.get("DURATION"), "dt", None)
    if isinstance(duration, timedelta):
        end = start + duration
    elif isinstance(start, datetime):
        end = start
    else:
        end = start + timedelta(days=1)
    return _when(_Shown(end, prop.params))


class _Shown:
    """A computed date(-time) shaped like an icalendar property (``dt`` and ``params``)."""

    def __init__(self, dt: date, params: Mapping[str, Any]):
        self.dt, self.params = dt, params


def _attendee(address: Any) -> dict[str, str]:
    email = str(address)
    if email.lower().startswith("mailto:"):
        email = email[len("mailto:"):]
    out = {"email": email}
    params = getattr(address, "params", {})
    if params.get("CN"):
        out["displayName"] = str(params["CN"])
    if params.get("PARTSTAT") in _PARTSTAT:
        out["responseStatus"] = _PARTSTAT[params["PARTSTAT"]]
    return out


# ----------------------------------------------------------------- writing
def new_calendar(record: Mapping[str, Any], *, uid: str, hub_id: str) -> Calendar:
    """A VCALENDAR holding one new VEVENT for ``record``, stamped with ``hub_id``."""
    now = datetime.now(UTC).replace(microsecond=0)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", now)
    event.add("created", now)
    event.add("last-modified", now)
    event.add("sequence", 0)
    event.add(HUB_ID, hub_id)
    _write(event, record)
    calendar.add_component(event)
    _add_time_zones(calendar, event)
    return calendar


def update_calendar(calendar: Calendar, record: Mapping[str, Any]) -> Event:
    """Write ``record`` over the object's master VEVENT in place: SEQUENCE + 1, DTSTAMP and
    LAST-MODIFIED now (RFC 5545 §3.8.7.4); returns that VEVENT."""
    event = master(calendar)
    if event is None:
        raise ValueError("the remote object holds no VEVENT")
    now = datetime.now(UTC).replace(microsecond=0)
    _write(event, record)
    sequence = _int(event.get("SEQUENCE")) + 1
    for name, value in (("SEQUENCE", sequence), ("DTSTAMP", now), ("LAST-MODIFIED", now)):
        event.pop(name, None)
        event.add(name, value)
    _add_time_zones(calendar, event)
    return event


def _write(event: Event, record: Mapping[str, Any]) -> None:
    for key, name in _TEXT.items():
        if key in record:
            _set(event, name, str(record[key]) if record[key] not in (None, "") else None)
    for key, name in (("start", "DTSTART"), ("end", "DTEND")):
        if key in record:
            _set(event, name, _moment(record[key], key))
            if key == "end":
                event.pop("DURATION", None)
    if "attendees" in record:
        _write_attendees(event, record["attendees"] or [])
    if "status" in record:
        status = record["status"]
        if status not in (None, "") and str(status).lower() not in _STATUS:
            raise ValueError(f"status: one of {', '.join(_STATUS)}")
        _set(event, "STATUS", _STATUS[str(status).lower()] if status else None)


def _set(event: Event, name: str, value: Any) -> None:
    event.pop(name, None)
    if value is not None:
        event.add(name, value)


def _moment(value: Any, key: str) -> date | None:
    """``{"date"}`` or ``{"dateTime", "timeZone"?}`` as a date or a datetime for icalendar."""
    if value in (None, ""):
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"{key}: an object with date or dateTime")
    if not value.get("date") and not value.get("dateTime"):
        return None  # {"dateTime": None}: the local value is empty
    if value.get("date"):
        try:
            return date.fromisoformat(str(value["date"])[:10])
        except ValueError:
            raise ValueError(f"{key}.date: not an ISO 8601 date") from None
    try:
        moment = datetime.fromisoformat(str(value["dateTime"]))
    except ValueError:
        raise ValueError(f"{key}.dateTime: not an ISO 8601 date-time") from None
    zone = _zone(value.get("timeZone"))
    if zone is not None:
        return moment.astimezone(zone) if moment.tzinfo else moment.replace(tzinfo=zone)
    return moment.astimezone(UTC) if moment.tzinfo else moment  # UTC, or floating


def _zone(name: Any) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return None  # not an IANA name: written in UTC


def _write_attendees(event: Event, attendees: Any) -> None:
    """Replace the ATTENDEE list, keeping the parameters (CN, PARTSTAT, ROLE) of addresses
    that stay."""
    kept = {_attendee(a)["email"].lower(): a for a in _as_list(event.get("ATTENDEE"))}
    event.pop("ATTENDEE", None)
    for item in attendees if isinstance(attendees, list) else [attendees]:
        email = item.get("email") if isinstance(item, Mapping) else item
        if not email:
            continue
        email = str(email).strip()
        address = kept.get(email.lower()) or vCalAddress(f"mailto:{email}")
        if isinstance(item, Mapping) and item.get("displayName"):
            address.params["CN"] = str(item["displayName"])
        event.add("ATTENDEE", address)


def _add_time_zones(calendar: Calendar, event: Event) -> None:
    """A VTIMEZONE for each TZID used (RFC 5545 §3.6.5), over the years around the event."""
    start = getattr(event.get("DTSTART"), "dt", None)
    year = start.year if isinstance(start, date) else datetime.now(UTC).year
    calendar.add_missing_timezones(first_date=date(year - 1, 1, 1), last_date=date(year + 10, 1, 1))
