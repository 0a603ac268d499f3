"""A local Microsoft Graph v1.0 calendar server: the slice the Outlook Calendar adapter uses.

A real HTTP server (threaded, 127.0.0.1, a free port) so the hub's ProviderClient -- rate
limiter, token, retries, deadline -- runs unchanged against it: point the provider app's
API base at ``GraphCalendarFake.url`` (the client keeps the catalog's ``/v1.0`` path).
Longer than ~400 lines on purpose: one server, one state, one module.

What it implements, as documented (the fake follows these pages; where Graph's behaviour is
undocumented the choice is said inline):

- ``GET /v1.0/me/calendars`` -- the calendar resource list, paged with ``$top`` / ``$skip``
  and ``@odata.nextLink``.
  https://learn.microsoft.com/en-us/graph/api/user-list-calendars ,
  https://learn.microsoft.com/en-us/graph/api/resources/calendar
- ``GET /v1.0/me/calendarView/delta`` and ``/v1.0/me/calendars/{id}/calendarView/delta``
  with ``startDateTime`` / ``endDateTime`` on the first call only: pages follow
  ``@odata.nextLink`` (``$skiptoken``), the last page carries ``@odata.deltaLink``
  (``$deltatoken``), the window and every other parameter live in the opaque token;
  ``Prefer: odata.maxpagesize=N`` sizes the pages; a removed event is
  ``{"@odata.type": "#microsoft.graph.event", "id": ..., "@removed": {"reason": "deleted"}}``
  -- also, as event-delta's "Response" section says, for an event *outside* the window that
  was added, updated or deleted since the last round; a token the server no longer has ->
  ``410 Gone`` with error code ``syncStateNotFound`` ("the application must restart with a
  full synchronization").
  https://learn.microsoft.com/en-us/graph/api/event-delta ,
  https://learn.microsoft.com/en-us/graph/delta-query-events ,
  https://learn.microsoft.com/en-us/graph/delta-query-overview (synchronization reset)
- ``POST /v1.0/me/events`` and ``/v1.0/me/calendars/{id}/events`` (201 + the event; a
  ``transactionId`` already used by a live event returns that event instead of a duplicate:
  "to avoid redundant POST operations in case of client retries"; Graph publishes no window
  for that memory, the fake keeps it while the event lives; set once, never changed),
  ``GET|PATCH|DELETE /v1.0/me/events/{id}`` (PATCH replaces each complex property it names;
  ``If-Match`` with the ``@odata.etag`` -> ``412`` ``ErrorIrresolvableConflict`` when the
  changeKey moved on; a missing event -> ``404`` ``ErrorItemNotFound``).
  https://learn.microsoft.com/en-us/graph/api/calendar-post-events ,
  https://learn.microsoft.com/en-us/graph/api/event-update ,
  https://learn.microsoft.com/en-us/graph/api/event-delete ,
  https://learn.microsoft.com/en-us/graph/api/resources/event (transactionId, changeKey)
- ``singleValueExtendedProperties`` set on create/update, returned only with
  ``$expand=singleValueExtendedProperties($filter=id eq '...')``.
  https://learn.microsoft.com/en-us/graph/api/singlevaluelegacyextendedproperty-get
- ``Prefer: outlook.timezone="..."`` (UTC or an IANA name; default UTC) and
  ``Prefer: outlook.body-content-type="text"`` (default HTML), echoed in
  ``Preference-Applied``. Stricter than Graph on purpose: a ``dateTime`` with an offset or a
  missing ``timeZone`` is a 400 (Graph documents a naive dateTime plus timeZone).
  https://learn.microsoft.com/en-us/graph/api/resources/datetimetimezone ,
  https://learn.microsoft.com/en-us/graph/api/event-get (Prefer headers)
- Throttling: ``429`` + ``Retry-After`` with Graph's error body, either for the next N
  requests (``throttle``) or above a requests-per-second limit (``limit_rate``).
  https://learn.microsoft.com/en-us/graph/throttling
- ``Authorization: Bearer <token>`` checked on every call (401 InvalidAuthenticationToken);
  errors in Graph's shape ``{"error": {"code", "message"}}``
  (https://learn.microsoft.com/en-us/graph/errors).

- Change notifications (webhooks): ``POST /v1.0/subscriptions`` (changeType, notificationUrl,
  resource ``me/events`` or ``me/calendars/{id}/events``, expirationDateTime at most 10,080
  minutes ahead for events, clientState up to 255 characters) first validates the URL --
  ``POST <notificationUrl>?validationToken=<token>`` (Content-Type text/plain), which must
  answer 200 with the token as its text/plain body within 10 seconds, else 400
  ``InvalidRequest`` "Subscription validation request failed" -- then answers 201 with the
  subscription; ``PATCH /v1.0/subscriptions/{id}`` renews (new expirationDateTime), ``DELETE``
  removes (204; unknown id 404). Every event created, updated or deleted afterwards (by the
  user or through the API) is POSTed to the live subscriptions on its calendar as
  ``{"value": [changeNotification]}`` with ``clientState``, ``subscriptionId``,
  ``changeType``, ``resource`` and ``resourceData`` (``send_notification`` sends one by hand);
  answers are recorded in ``notifications``. Stricter than nothing, looser than Graph: the
  notificationUrl may be plain http (tests run without TLS; Graph requires https).
  https://learn.microsoft.com/en-us/graph/api/subscription-post-subscriptions ,
  https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks ,
  https://learn.microsoft.com/en-us/graph/api/resources/changenotification

Mutators (``user_creates``, ``user_edits``, ``user_deletes``, ``invalidate_delta_tokens``)
simulate a person editing the calendar in Outlook between two syncs.
"""

from __future__ import annotations

import base64
import html
import json
import re
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
import requests

from tests.support.fakes.base import FakeServer

ACCESS_TOKEN = "graph-fake-access-token"
USER_EMAIL = "studio@contoso.example"
#: Graph's page size for calendarView delta when the client asks for none (documented default).
DEFAULT_PAGE = 10
_WINDOWS_ZONES = {"UTC": "UTC", "Coordinated Universal Time": "UTC", "Israel Standard Time": "Asia/Jerusalem",
                  "Pacific Standard Time": "America/Los_Angeles", "GMT Standard Time": "Europe/London"}
_PREFER = re.compile(r'\s*([\w.-]+)\s*=\s*("([^"]*)"|[^,;\s]+)')


def _graph_id(prefix: str = "AAMkAGI2") -> str:
    """Graph ids are long opaque base64 strings; these are URL-safe ones."""
    return prefix + base64.urlsafe_b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode().rstrip("=")


def _stamp(moment: datetime) -> str:
    """Graph's DateTimeOffset: 7 fractional digits, Z (e.g. 2017-04-15T12:00:00.1234567Z)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(_WINDOWS_ZONES.get(name, name))
    except (ZoneInfoNotFoundError, ValueError):
        raise _Fail(400, "ErrorTimeZoneNotSupported", f"time zone {name!r} is not supported") from None


class _Fail(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def _parse_dtz(value: Any, what: str) -> datetime:
    """A dateTimeTimeZone ({"dateTime": naive ISO, "timeZone": name}) as an aware UTC datetime."""
    if not isinstance(value, dict) or not value.get("dateTime") or not value.get("timeZone"):
        raise _Fail(400, "ErrorInvalidRequest", f"{what} needs dateTime and timeZone")
    text = str(value["dateTime"])
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(\.\d+)?", text)
    if not match:
        raise _Fail(400, "ErrorInvalidRequest", f"{what}.dateTime {text!r} is not a naive ISO 8601 date-time")
    moment = datetime.fromisoformat(match.group(1)).replace(tzinfo=_zone(str(value["timeZone"])))
    return moment.astimezone(UTC)


def _parse_window(text: str | None, name: str) -> datetime:
    if not text:
        raise _Fail(400, "ErrorInvalidParameter", "This request requires a time window specified by the query "
                    "string parameters StartDateTime and EndDateTime.")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Fail(400, "ErrorInvalidParameter", f"{name} is not a date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class StoredEvent:
    """One event as the fake keeps it: times in UTC, the properties the client sent."""

    id: str
    calendar_id: str
    subject: str = ""
    body: dict[str, str] = field(default_factory=lambda: {"contentType": "text", "content": ""})
    start: datetime = field(default_factory=lambda: datetime.now(UTC))
    end: datetime = field(default_factory=lambda: datetime.now(UTC) + timedelta(hours=1))
    original_tz: str = "UTC"
    is_all_day: bool = False
    location: dict[str, Any] = field(default_factory=dict)
    attendees: list[dict[str, Any]] = field(default_factory=list)
    transaction_id: str | None = None
    extended: dict[str, str] = field(default_factory=dict)
    change_key: str = ""
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    seq: int = 0

    @property
    def etag(self) -> str:
        return f'W/"{self.change_key}"'


@dataclass(frozen=True)
class Seen:
    """One request the fake answered (for counting and for asserting what was sent)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int


class GraphCalendarFake(FakeServer):
    """State plus the HTTP server. Thread-safe: one lock around every read and write."""

    name = "graph-fake"
    content_type = "application/json; odata.metadata=minimal; odata.streaming=true"

    def __init__(self, *, token: str = ACCESS_TOKEN):
        self.tokens = {token}
        self.token = token
        self.calendars: list[dict[str, Any]] = []
        self.events: dict[str, StoredEvent] = {}
        self.tombstones: list[tuple[int, str, str, datetime, datetime]] = []  # seq, id, calendar, start, end
        self.requests: list[Seen] = []
        self.throttled = 0
        self._seq = 0
        self._delta_tokens: dict[str, dict[str, Any]] = {}
        self._skip_tokens: dict[str, dict[str, Any]] = {}
        self._throttle_next = 0
        self._retry_after = 1
        self._rate: float | None = None
        self._recent: deque[float] = deque()
        self._lock = threading.RLock()
        #: live subscriptions by id (the subscription resource as Graph returns it)
        self.subscriptions: dict[str, dict[str, Any]] = {}
        #: every validation request and change notification POSTed: {"url", "headers", "body", "status", "text"}
        self.notifications: list[dict[str, Any]] = []
        self._outbox: list[tuple[str, dict[str, Any]]] = []
        self._http = requests.Session()
        self._http.trust_env = False
        self.add_calendar("Calendar", default=True)
        self.bind()
        self.url = self.base_url

    # ------------------------------------------------------------------ test controls
    @property
    def default_calendar_id(self) -> str:
        return next(c["id"] for c in self.calendars if c["isDefaultCalendar"])

    def add_calendar(self, name: str, *, default: bool = False, color: str = "auto") -> dict[str, Any]:
        """A calendar resource as GET /me/calendars lists it (resources/calendar)."""
        calendar = {
            "id": _graph_id("AAMkAGI2TG93AAA"), "name": name, "color": color, "hexColor": "",
            "isDefaultCalendar": default, "changeKey": base64.b64encode(secrets.token_bytes(12)).decode(),
            "canShare": True, "canViewPrivateItems": True, "canEdit": True,
            "allowedOnlineMeetingProviders": ["teamsForBusiness"], "defaultOnlineMeetingProvider": "teamsForBusiness",
            "isTallyingResponses": True, "isRemovable": not default,
            "owner": {"name": "Studio", "address": USER_EMAIL},
        }
        with self._lock:
            self.calendars.append(calendar)
        return calendar

    def throttle(self, count: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``count`` requests 429 with ``Retry-After: retry_after``."""
        with self._lock:
            self._throttle_next, self._retry_after = count, retry_after

    def limit_rate(self, per_second: float | None) -> None:
        """Answer 429 (Retry-After: 1) to requests beyond ``per_second`` in any one second; None lifts it."""
        with self._lock:
            self._rate = per_second
            self._recent.clear()

    def invalidate_delta_tokens(self) -> None:
        """Forget every state token (Graph's token cache evicted them): the next delta call
        with an old nextLink or deltaLink answers 410 syncStateNotFound."""
        with self._lock:
            self._delta_tokens.clear()
            self._skip_tokens.clear()

    def count(self, method: str | None = None, path_contains: str = "") -> int:
        with self._lock:
            return sum(1 for r in self.requests if (method is None or r.method == method) and path_contains in r.path)

    def event(self, event_id: str) -> StoredEvent | None:
        with self._lock:
            return self.events.get(event_id)

    def live_events(self, calendar_id: str | None = None) -> list[StoredEvent]:
        with self._lock:
            return [e for e in self.events.values() if calendar_id in (None, e.calendar_id)]

    def user_creates(self, subject: str, start: datetime, end: datetime | None = None, *,
                     calendar_id: str | None = None, **props: Any) -> StoredEvent:
        """Someone adds an event in Outlook (``props`` in Graph's JSON names: body, location, attendees...)."""
        with self._lock:
            event = StoredEvent(id=_graph_id(), calendar_id=calendar_id or self.default_calendar_id, subject=subject,
                                start=start.astimezone(UTC), end=(end or start + timedelta(hours=1)).astimezone(UTC))
            self._apply(event, props)
            self._touch(event)
            self.events[event.id] = event
        self.deliver()
        return event

    def user_edits(self, event_id: str, **props: Any) -> StoredEvent:
        """Someone edits an event in Outlook: Graph JSON properties, or start/end as aware datetimes."""
        with self._lock:
            event = self.events[event_id]
            for name in ("start", "end"):
                if isinstance(props.get(name), datetime):
                    setattr(event, name, props.pop(name).astimezone(UTC))
            self._apply(event, props)
            self._touch(event)
        self.deliver()
        return event

    def user_deletes(self, event_id: str) -> None:
        with self._lock:
            self._remove(self.events[event_id])
        self.deliver()

    # ------------------------------------------------------------------ state changes
    def _touch(self, event: StoredEvent) -> None:
        self._queue_change(event.id, event.calendar_id, "created" if not event.seq else "updated", event.change_key)
        self._seq += 1
        event.seq = self._seq
        event.change_key = base64.b64encode(secrets.token_bytes(12)).decode()
        event.modified = datetime.now(UTC)

    def _remove(self, event: StoredEvent) -> None:
        self._queue_change(event.id, event.calendar_id, "deleted", None)
        self._seq += 1
        del self.events[event.id]
        self.tombstones.append((self._seq, event.id, event.calendar_id, event.start, event.end))

    def _apply(self, event: StoredEvent, body: dict[str, Any]) -> None:
        """Write Graph JSON properties onto the event (a complex property is replaced whole)."""
        if "subject" in body:
            event.subject = str(body["subject"] or "")
        if "body" in body:
            given = body["body"] or {}
            kind = str(given.get("contentType", "text")).lower()
            if kind not in ("text", "html"):
                raise _Fail(400, "ErrorInvalidRequest", "body.contentType must be text or html")
            event.body = {"contentType": kind, "content": str(given.get("content") or "")}
        for name in ("start", "end"):
            if name in body:
                setattr(event, name, _parse_dtz(body[name], name))
                event.original_tz = str(body[name]["timeZone"])
        if "isAllDay" in body:
            event.is_all_day = bool(body["isAllDay"])
        if "location" in body:
            event.location = dict(body["location"] or {})
        if "attendees" in body:
            attendees = body["attendees"] or []
            if not isinstance(attendees, list) or not all(
                isinstance(a, dict) and isinstance(a.get("emailAddress"), dict) and a["emailAddress"].get("address")
                for a in attendees
            ):
                raise _Fail(400, "ErrorInvalidRequest", "each attendee needs emailAddress.address")
            event.attendees = [dict(a) for a in attendees]
        if "transactionId" in body:
            if event.transaction_id is not None and body["transactionId"] != event.transaction_id:
                raise _Fail(400, "ErrorInvalidRequest", "transactionId cannot be changed once set")
            event.transaction_id = body["transactionId"]
        for prop in body.get("singleValueExtendedProperties") or []:
            if not isinstance(prop, dict) or not prop.get("id") or "value" not in prop:
                raise _Fail(400, "ErrorInvalidRequest", "an extended property needs id and value")
            event.extended[str(prop["id"])] = str(prop["value"])
        if event.end < event.start:
            raise _Fail(400, "ErrorInvalidRequest", "end is before start")

    # ------------------------------------------------------------------ rendering
    def render(self, event: StoredEvent, *, zone: str = "UTC", text_body: bool = False,
               expand: set[str] | None = None) -> dict[str, Any]:
        """The event resource JSON (resources/event), times in ``zone``."""
        tz = _zone(zone)

        def when(moment: datetime) -> dict[str, str]:
            return {"dateTime": moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0", "timeZone": zone}

        content, kind = event.body["content"], event.body["contentType"]
        if text_body and kind == "html":
            content, kind = html.unescape(re.sub(r"<[^>]+>", "", content)).strip(), "text"
        elif not text_body and kind == "text":
            content, kind = f"<html><body>{html.escape(content)}</body></html>", "html"
        location = {"displayName": "", "locationType": "default", "uniqueIdType": "unknown",
                    "address": {}, "coordinates": {}, **event.location}
        attendees = [{"type": a.get("type", "required"),
                      "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                      "emailAddress": {"name": a["emailAddress"].get("name", a["emailAddress"]["address"]),
                                       "address": a["emailAddress"]["address"]}} for a in event.attendees]
        out: dict[str, Any] = {
            "@odata.etag": event.etag,
            "id": event.id,
            "createdDateTime": _stamp(event.created),
            "lastModifiedDateTime": _stamp(event.modified),
            "changeKey": event.change_key,
            "categories": [],
            "originalStartTimeZone": event.original_tz,
            "originalEndTimeZone": event.original_tz,
            "iCalUId": "040000008200E00074C5B7101A82E008" + event.id[-32:].encode().hex()[:32],
            "reminderMinutesBeforeStart": 15,
            "isReminderOn": True,
            "hasAttachments": False,
            "subject": event.subject,
            "bodyPreview": html.unescape(re.sub(r"<[^>]+>", "", event.body["content"]))[:255],
            "importance": "normal",
            "sensitivity": "normal",
            "isAllDay": event.is_all_day,
            "isCancelled": False,
            "isOrganizer": True,
            "responseRequested": True,
            "seriesMasterId": None,
            "showAs": "busy",
            "type": "singleInstance",
            "webLink": f"https://outlook.office365.com/owa/?itemid={quote(event.id, safe='')}&exvsurl=1&path=/calendar/item",
            "onlineMeetingUrl": None,
            "isOnlineMeeting": False,
            "onlineMeetingProvider": "unknown",
            "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
            "body": {"contentType": kind, "content": content},
            "start": when(event.start),
            "end": when(event.end),
            "location": location,
            "locations": [location] if location["displayName"] else [],
            "recurrence": None,
            "attendees": attendees,
            "organizer": {"emailAddress": {"name": "Studio", "address": USER_EMAIL}},
        }
        if event.transaction_id is not None:  # "only returned in a response payload if an app has set it"
            out["transactionId"] = event.transaction_id
        if expand is not None:
            out["singleValueExtendedProperties"] = [
                {"id": pid, "value": value} for pid, value in event.extended.items() if pid in expand
            ]
        return out

    # ------------------------------------------------------------------ delta
    def _round(self, calendar_id: str, window: tuple[datetime, datetime], since: int | None) -> dict[str, Any]:
        """The items of one delta round, fixed when the round starts (later changes go to the next round)."""
        start, end = window

        def inside(a: datetime, b: datetime) -> bool:
            return a < end and b > start

        items: list[tuple[int, str, StoredEvent | None]] = []
        for event in self.events.values():
            if event.calendar_id != calendar_id or (since is not None and event.seq <= since):
                continue
            if inside(event.start, event.end):
                items.append((event.seq, event.id, event))
            elif since is not None:  # added/updated outside the window: reported as @removed "deleted" too
                items.append((event.seq, event.id, None))
        if since is not None:  # deleted inside or outside the window: both are reported (event-delta, Response)
            items += [(seq, eid, None) for seq, eid, cal, _a, _b in self.tombstones if seq > since and cal == calendar_id]
        items.sort(key=lambda item: item[0])
        return {"calendar": calendar_id, "window": window, "items": items, "seq": self._seq}

    def _delta_page(self, base: str, state: dict[str, Any], offset: int, page: int, prefs: dict[str, str]) -> dict:
        chunk = state["items"][offset:offset + page]
        value = []
        for _, event_id, event in chunk:
            live = self.events.get(event_id)
            if event is None or live is None:
                value.append({"@odata.type": "#microsoft.graph.event", "id": event_id, "@removed": {"reason": "deleted"}})
            else:
                value.append({"@odata.type": "#microsoft.graph.event",
                              **self.render(live, zone=prefs.get("outlook.timezone", "UTC"),
                                            text_body=prefs.get("outlook.body-content-type") == "text")})
        body: dict[str, Any] = {"@odata.context": f"{self.url}/v1.0/$metadata#Collection(event)", "value": value}
        if offset + page < len(state["items"]):
            token = secrets.token_urlsafe(18)
            self._skip_tokens[token] = {**state, "offset": offset + page}
            body["@odata.nextLink"] = f"{base}?$skiptoken={token}"
        else:
            token = secrets.token_urlsafe(18)
            self._delta_tokens[token] = {"calendar": state["calendar"], "window": state["window"], "seq": state["seq"]}
            body["@odata.deltaLink"] = f"{base}?$deltatoken={token}"
        return body

    def delta(self, calendar_id: str, base: str, query: dict[str, list[str]], prefs: dict[str, str]) -> dict:
        page = _positive(prefs.get("odata.maxpagesize"), DEFAULT_PAGE)
        gone = _Fail(410, "syncStateNotFound", "The sync state generation is not found. The delta token is "
                     "expired and data must be synchronized again.")
        if "$skiptoken" in query:
            state = self._skip_tokens.get(query["$skiptoken"][0])
            if state is None or state["calendar"] != calendar_id:
                raise gone
            return self._delta_page(base, state, state["offset"], page, prefs)
        if "$deltatoken" in query:
            token = self._delta_tokens.get(query["$deltatoken"][0])
            if token is None or token["calendar"] != calendar_id:
                raise gone
            return self._delta_page(base, self._round(calendar_id, token["window"], token["seq"]), 0, page, prefs)
        window = (_parse_window(_first(query, "startDateTime"), "startDateTime"),
                  _parse_window(_first(query, "endDateTime"), "endDateTime"))
        return self._delta_page(base, self._round(calendar_id, window, None), 0, page, prefs)

    # ------------------------------------------------------------------ request dispatch
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, dict]:
        parts = urlsplit(target)
        path, query = unquote(parts.path), parse_qs(parts.query, keep_blank_values=True)
        with self._lock:
            try:
                status, extra, payload = self._dispatch(method, path, query, headers, body)
            except Exception as exc:  # a fake's bug answers 500 in Graph's shape instead of hanging the client
                fail = exc if isinstance(exc, _Fail) else _Fail(500, "generalException", f"fake error: {exc!r}")
                status, extra, payload = fail.status, fail.headers, {
                    "error": {"code": fail.code, "message": fail.message,
                              "innerError": {"date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                                             "request-id": str(uuid.uuid4()), "client-request-id": str(uuid.uuid4())}}}
            self.requests.append(Seen(method, path, query, dict(headers), status))
        self.deliver()
        return status, payload, extra

    def _gate(self, headers: dict[str, str]) -> None:
        if self._throttle_next > 0 or self._over_rate():
            if self._throttle_next > 0:
                self._throttle_next -= 1
            self.throttled += 1
            raise _Fail(429, "TooManyRequests", "Please retry again later.",
                        {"Retry-After": str(self._retry_after if self._rate is None else 1)})
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            raise _Fail(401, "InvalidAuthenticationToken", "Access token validation failure.")

    def _over_rate(self) -> bool:
        if self._rate is None:
            return False
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self._rate:
            return True
        self._recent.append(now)
        return False

    def _dispatch(self, method, path, query, headers, body) -> tuple[int, dict, Any]:
        self._gate(headers)
        prefs = _preferences(headers.get("prefer", ""))
        applied = {}
        zone = prefs.get("outlook.timezone", "UTC")
        _zone(zone)
        if "outlook.timezone" in prefs:
            applied["Preference-Applied"] = f'outlook.timezone="{zone}"'
        text_body = prefs.get("outlook.body-content-type") == "text"
        if text_body:
            applied["Preference-Applied"] = ", ".join(
                filter(None, [applied.get("Preference-Applied"), 'outlook.body-content-type="text"']))
        segments = path.strip("/").split("/")
        if segments[:2] == ["v1.0", "subscriptions"]:
            return self._subscriptions(method, segments[2:], body)
        if segments[:2] != ["v1.0", "me"]:
            raise _Fail(404, "UnknownError", f"no route for {path}")
        rest = segments[2:]
        data = _json_body(body) if method in ("POST", "PATCH") else None

        if rest == ["calendars"] and method == "GET":
            return 200, applied, self._list_calendars(query, prefs)
        if rest == ["calendarView", "delta"] and method == "GET":
            return 200, applied, self.delta(self.default_calendar_id, f"{self.url}/v1.0/me/calendarView/delta", query, prefs)
        if len(rest) == 4 and rest[0] == "calendars" and rest[2:] == ["calendarView", "delta"] and method == "GET":
            self._calendar(rest[1])
            base = f"{self.url}/v1.0/me/calendars/{quote(rest[1], safe='')}/calendarView/delta"
            return 200, applied, self.delta(rest[1], base, query, prefs)
        if method == "POST" and (rest == ["events"] or (len(rest) == 3 and rest[0] == "calendars" and rest[2] == "events")):
            calendar_id = self.default_calendar_id if rest == ["events"] else self._calendar(rest[1])["id"]
            return self._create(calendar_id, data, zone, text_body, applied)
        if len(rest) == 2 and rest[0] == "events":
            event = self.events.get(rest[1])
            if event is None:
                raise _Fail(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            if method == "GET":
                return 200, applied, self.render(event, zone=zone, text_body=text_body, expand=_expand_ids(query))
            self._check_if_match(event, headers)
            if method == "PATCH":
                self._apply(event, data)
                self._touch(event)
                return 200, applied, self.render(event, zone=zone, text_body=text_body)
            if method == "DELETE":
                self._remove(event)
                return 204, {}, None
        raise _Fail(405 if rest and rest[0] in ("events", "calendars") else 404, "UnknownError",
                    f"{method} {path} is not served by this fake")

    # ------------------------------------------------------------------ subscriptions (change notifications)
    def _subscriptions(self, method: str, rest: list[str], body: bytes) -> tuple[int, dict, Any]:
        if not rest and method == "POST":
            return 201, {}, self._subscribe(_json_body(body))
        if len(rest) == 1 and method in ("PATCH", "DELETE", "GET"):
            subscription = self.subscriptions.get(rest[0])
            if subscription is None:
                raise _Fail(404, "ResourceNotFound", f"The object was not found: {rest[0]}")
            if method == "GET":
                return 200, {}, subscription
            if method == "DELETE":
                del self.subscriptions[rest[0]]
                return 204, {}, None
            data = _json_body(body)
            subscription["expirationDateTime"] = _stamp(self._expiry(data.get("expirationDateTime")))
            return 200, {}, subscription
        raise _Fail(405, "UnknownError", f"{method} /subscriptions is not served by this fake")

    def _expiry(self, value: Any) -> datetime:
        """subscription-post-subscriptions: required; Outlook events allow at most 10,080 minutes."""
        moment = _parse_window(value if isinstance(value, str) else None, "expirationDateTime")
        now = datetime.now(UTC)
        if moment <= now:
            raise _Fail(400, "InvalidRequest", "Subscription expiration can only be in the future.")
        if moment > now + timedelta(minutes=10080):
            raise _Fail(400, "InvalidRequest", "Subscription expiration can only be 10080 minutes in the future.")
        return moment

    def _subscribe(self, data: dict[str, Any]) -> dict[str, Any]:
        for name in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
            if not data.get(name):
                raise _Fail(400, "InvalidRequest", f"{name} is required")
        kinds = str(data["changeType"]).split(",")
        if not set(kinds) <= {"created", "updated", "deleted"}:
            raise _Fail(400, "InvalidRequest", f"changeType {data['changeType']!r} is not supported")
        calendar_id = self._resource_calendar(str(data["resource"]))
        if len(str(data.get("clientState") or "")) > 255:
            raise _Fail(400, "InvalidRequest", "clientState is longer than 255 characters")
        expires = self._expiry(data["expirationDateTime"])
        self._validate(str(data["notificationUrl"]))
        subscription = {
            "@odata.context": f"{self.url}/v1.0/$metadata#subscriptions/$entity",
            "id": str(uuid.uuid4()), "resource": data["resource"], "applicationId": str(uuid.uuid5(uuid.NAMESPACE_URL, self.url)),
            "changeType": data["changeType"], "clientState": data.get("clientState"),
            "notificationUrl": data["notificationUrl"], "expirationDateTime": _stamp(expires),
            "creatorId": str(uuid.uuid5(uuid.NAMESPACE_DNS, USER_EMAIL)),
            "latestSupportedTlsVersion": data.get("latestSupportedTlsVersion") or "v1_2",
            "notificationContentType": "application/json",
        }
        subscription["_calendar"] = calendar_id  # the fake's own note, removed from answers below
        self.subscriptions[subscription["id"]] = subscription
        return {k: v for k, v in subscription.items() if not k.startswith("_")}

    def _resource_calendar(self, resource: str) -> str:
        path = resource.strip("/")
        if path in ("me/events", "me/calendar/events"):
            return self.default_calendar_id
        match = re.fullmatch(r"me/calendars/([^/]+)/events", path)
        if not match:
            raise _Fail(400, "InvalidRequest", f"resource {resource!r} is not an events resource this fake serves")
        return self._calendar(unquote(match.group(1)))["id"]

    def _validate(self, url: str) -> None:
        """change-notifications-delivery-webhooks, "Notification endpoint validation"."""
        token = secrets.token_urlsafe(24)
        record: dict[str, Any] = {"url": url, "validationToken": token, "status": None, "text": None}
        try:
            answer = self._http.post(url, params={"validationToken": token}, data=b"",
                                     headers={"Content-Type": "text/plain; charset=utf-8"}, timeout=10)
            record.update(status=answer.status_code, text=answer.text,
                          content_type=answer.headers.get("Content-Type", ""))
        except requests.RequestException as exc:
            record["error"] = type(exc).__name__
        self.notifications.append(record)
        if not (record["status"] == 200 and record["text"] == token
                and str(record.get("content_type", "")).startswith("text/plain")):
            raise _Fail(400, "InvalidRequest", "Subscription validation request failed. Notification endpoint must "
                        "respond with 200 OK to validation request.")

    def notification_body(self, subscription_id: str, change_type: str, event_id: str,
                          change_key: str | None = None, *, client_state: str | None = None) -> dict[str, Any]:
        """A change notification collection as Graph POSTs it (resources/changenotification)."""
        subscription = self.subscriptions[subscription_id]
        item = {
            "subscriptionId": subscription_id,
            "subscriptionExpirationDateTime": subscription["expirationDateTime"],
            "changeType": change_type,
            "resource": f"Users/{subscription['creatorId']}/Events/{event_id}",
            "resourceData": {"@odata.type": "#Microsoft.Graph.Event",
                             "@odata.id": f"Users/{subscription['creatorId']}/Events/{event_id}",
                             **({"@odata.etag": f'W/"{change_key}"'} if change_key else {}), "id": event_id},
            "clientState": subscription.get("clientState") if client_state is None else client_state,
            "tenantId": str(uuid.uuid5(uuid.NAMESPACE_DNS, "contoso.example")),
        }
        return {"value": [item]}

    def _queue_change(self, event_id: str, calendar_id: str, change_type: str, change_key: str | None) -> None:
        now = datetime.now(UTC)
        for subscription in self.subscriptions.values():
            live = _parse_window(subscription["expirationDateTime"], "expirationDateTime") > now
            if live and subscription["_calendar"] == calendar_id and change_type in subscription["changeType"]:
                self._outbox.append((subscription["notificationUrl"],
                                     self.notification_body(subscription["id"], change_type, event_id, change_key)))

    def send_notification(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST one change notification collection to ``url`` (as Graph delivers it); the record."""
        record: dict[str, Any] = {"url": url, "body": body, "status": None, "text": None}
        try:
            answer = self._http.post(url, json=body, timeout=10)
            record.update(status=answer.status_code, text=answer.text)
        except requests.RequestException as exc:
            record["error"] = type(exc).__name__
        with self._lock:
            self.notifications.append(record)
        return record

    def deliver(self) -> None:
        """Send the queued change notifications (outside the lock; the hub may call the fake back)."""
        with self._lock:
            pending, self._outbox = self._outbox, []
        for url, body in pending:
            self.send_notification(url, body)

    def expire_subscriptions(self) -> None:
        """Every subscription reaches its expiration now (no more notifications)."""
        with self._lock:
            for subscription in self.subscriptions.values():
                subscription["expirationDateTime"] = _stamp(datetime.now(UTC) - timedelta(seconds=1))

    def _calendar(self, calendar_id: str) -> dict[str, Any]:
        for calendar in self.calendars:
            if calendar["id"] == calendar_id:
                return calendar
        raise _Fail(404, "ErrorItemNotFound", "The specified object was not found in the store.")

    def _list_calendars(self, query, prefs) -> dict[str, Any]:
        top = _positive(_first(query, "$top") or prefs.get("odata.maxpagesize"), DEFAULT_PAGE)
        skip = _positive(_first(query, "$skip"), 0)
        body: dict[str, Any] = {"@odata.context": f"{self.url}/v1.0/$metadata#users('{USER_EMAIL}')/calendars",
                                "value": self.calendars[skip:skip + top]}
        if skip + top < len(self.calendars):
            body["@odata.nextLink"] = f"{self.url}/v1.0/me/calendars?$top={top}&$skip={skip + top}"
        return body

    def _create(self, calendar_id, data, zone, text_body, applied) -> tuple[int, dict, Any]:
        transaction = data.get("transactionId")
        if transaction:
            for event in self.events.values():
                if event.transaction_id == transaction and event.calendar_id == calendar_id:
                    return 201, applied, self.render(event, zone=zone, text_body=text_body)
        for name in ("start", "end"):
            if name not in data:
                raise _Fail(400, "ErrorInvalidRequest", f"{name} is required")
        event = StoredEvent(id=_graph_id(), calendar_id=calendar_id)
        self._apply(event, data)
        self._touch(event)
        self.events[event.id] = event
        return 201, applied, self.render(event, zone=zone, text_body=text_body)

    @staticmethod
    def _check_if_match(event: StoredEvent, headers: dict[str, str]) -> None:
        wanted = headers.get("if-match")
        if wanted and wanted not in ("*", event.etag, event.change_key, f'"{event.change_key}"'):
            raise _Fail(412, "ErrorIrresolvableConflict", "The send or update operation could not be performed "
                        "because the change key passed in the request does not match the current change key for "
                        "the item.")


def _first(query: dict[str, list[str]], name: str) -> str | None:
    for key, values in query.items():
        if key.lower() == name.lower() and values:
            return values[0]
    return None


def _positive(value: str | None, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise _Fail(400, "BadRequest", f"{value!r} is not a number") from None
    if number < 0:
        raise _Fail(400, "BadRequest", f"{value!r} is negative")
    return number or default


def _preferences(header: str) -> dict[str, str]:
    """``Prefer`` preferences, several per header comma-separated (RFC 7240)."""
    return {m.group(1).lower(): (m.group(3) if m.group(3) is not None else m.group(2))
            for m in _PREFER.finditer(header)}


def _expand_ids(query: dict[str, list[str]]) -> set[str] | None:
    """The property ids of ``$expand=singleValueExtendedProperties($filter=id eq '...')``."""
    expand = _first(query, "$expand")
    if not expand:
        return None
    match = re.fullmatch(r"singleValueExtendedProperties\(\$filter=(.+)\)", expand.strip())
    if not match:
        raise _Fail(400, "BadRequest", "only $expand=singleValueExtendedProperties($filter=id eq '...') is served")
    return set(re.findall(r"id eq '([^']+)'", match.group(1)))


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise _Fail(400, "BadRequest", "Unable to read JSON request payload.") from None
    if not isinstance(data, dict):
        raise _Fail(400, "BadRequest", "the request body must be a JSON object")
    return data


@pytest.fixture
def graph_calendar():
    """A running Graph calendar fake (one per test); its ``url`` is the API origin to configure."""
    fake = GraphCalendarFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def outlook_on_graph_fake(alice, graph_calendar):
    """Alice's connected Outlook Calendar integration, its provider app pointed at the fake
    (the token the fake accepts, valid for an hour): ``(integration, fake)``."""
    from integrations.services import provider_app_set
    from tests.support.oauth import make_oauth_integration

    provider_app_set(provider_id="outlook_calendar", client_id="graph-client", client_secret="graph-secret",
                     api_base_url=graph_calendar.url)
    integration = make_oauth_integration(alice, "outlook_calendar", access=graph_calendar.token, refresh="graph-rt")
    return integration, graph_calendar
