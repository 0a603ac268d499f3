"""A fake Google Calendar API v3: a real HTTP server on 127.0.0.1 (a free port, one thread
per connection) implementing the documented semantics the hub uses, under /calendar/v3/.

Long on purpose (~560 lines): one fake provider, its store, its HTTP routing and the
methods tests use to play the user editing in Google are one concern.

Implemented, with the documentation each piece follows:

- ``GET users/me/calendarList`` (maxResults default 100 / max 250, pageToken, nextSyncToken
  on the last page): https://developers.google.com/calendar/api/v3/reference/calendarList/list
  and the calendarListEntry resource (id, summary, summaryOverride, backgroundColor,
  accessRole, primary): https://developers.google.com/calendar/api/v3/reference/calendarList
- ``GET calendars/{calendarId}/events`` (maxResults default 250 / max 2500, pageToken,
  showDeleted, syncToken; singleEvents is accepted and recorded but the fake stores no
  recurring events): https://developers.google.com/calendar/api/v3/reference/events/list.
  Sync: https://developers.google.com/calendar/api/guides/sync -- nextSyncToken only on
  the last page, an incremental listing returns every changed event including deleted
  ones (``status: "cancelled"``, only ``id`` guaranteed), a token the server invalidated
  answers 410 ``fullSyncRequired``; syncToken cannot be combined with iCalUID, orderBy,
  privateExtendedProperty, q, sharedExtendedProperty, timeMin, timeMax or updatedMin (400).
- ``POST calendars/{calendarId}/events`` (insert; start and end required; a client-chosen
  ``id`` must be base32hex, 5-1024 chars, unique per calendar -> 409 ``duplicate``):
  https://developers.google.com/calendar/api/v3/reference/events/insert and the Event
  resource: https://developers.google.com/calendar/api/v3/reference/events
- ``PATCH`` / ``GET`` / ``DELETE calendars/{calendarId}/events/{eventId}``: patch semantics
  (given fields replace, arrays overwrite, nested objects merge, null clears):
  https://developers.google.com/calendar/api/v3/reference/events/patch and
  https://developers.google.com/calendar/api/guides/performance#patch ; ``If-Match`` with
  the etag -> 412 ``conditionNotMet`` when it changed
  (https://developers.google.com/calendar/api/guides/version-resources); deleting an
  already deleted event -> 410 ``deleted``.
- Push: ``POST calendars/{calendarId}/events/watch`` (a Channel: id, type ``web_hook``,
  address, token, expiration / params.ttl) answers the Channel with ``resourceId``,
  ``resourceUri`` and ``expiration`` (ms, as a string), sends a ``sync`` notification, then
  one ``exists`` notification per change of that calendar until the channel expires or
  ``POST channels/stop`` stops it; headers X-Goog-Channel-ID / -Token / -Expiration,
  X-Goog-Resource-ID / -URI / -State, X-Goog-Message-Number, empty body:
  https://developers.google.com/calendar/api/guides/push ,
  https://developers.google.com/calendar/api/v3/reference/events/watch ,
  https://developers.google.com/calendar/api/v3/reference/channels/stop
  (the default lifetime ``channel_ttl`` = one week is this fake's choice).
- Error bodies exactly as https://developers.google.com/calendar/api/guides/errors shows
  them (401 authError, 404 notFound, 409 duplicate, 410 fullSyncRequired / deleted,
  412 conditionNotMet, 429 rateLimitExceeded).

Not documented by Google, chosen here: page tokens are keyset cursors, so an event changed
while a listing is paged is never skipped (it is in the next incremental listing); a page
token of a listing older than ``expire_tokens()`` answers 410 like a sync token; the 429
carries ``Retry-After: <retry_after>`` (Google documents only exponential backoff) so the
hub client's Retry-After path is exercised -- set ``retry_after=None`` to omit it.
"""

from __future__ import annotations

import copy
import json
import queue
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
import requests

from tests.support.fakes.base import FakeServer, running

BASE32HEX = frozenset("0123456789abcdefghijklmnopqrstuv")
SYNC_INCOMPATIBLE = ("iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty",
                     "timeMin", "timeMax", "updatedMin")
READ_ONLY = ("kind", "etag", "id", "created", "updated", "htmlLink", "iCalUID", "creator")


def error_body(code: int, reason: str, message: str, *, domain: str = "global",
               location_type: str | None = None, location: str | None = None) -> dict:
    """The documented error shape (guides/errors)."""
    item: dict[str, Any] = {"domain": domain, "reason": reason, "message": message}
    if location:
        item.update(locationType=location_type, location=location)
    return {"error": {"errors": [item], "code": code, "message": message}}


FULL_SYNC_REQUIRED = error_body(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.",
                                domain="calendar", location_type="parameter", location="syncToken")
ALREADY_DELETED = error_body(410, "deleted", "Resource has been deleted")
PRECONDITION_FAILED = error_body(412, "conditionNotMet", "Precondition Failed", location_type="header",
                                 location="If-Match")
RATE_LIMITED = error_body(429, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits")
UNAUTHORIZED = error_body(401, "authError", "Invalid Credentials", location_type="header", location="Authorization")
NOT_FOUND = error_body(404, "notFound", "Not Found")
DUPLICATE = error_body(409, "duplicate", "The requested identifier already exists.")


def _bad_request(message: str, location: str | None = None, reason: str = "invalid") -> tuple[int, dict]:
    return 400, error_body(400, reason, message, location_type="parameter" if location else None, location=location)


class ApiError(Exception):
    def __init__(self, status: int, body: dict) -> None:
        super().__init__(status)
        self.status, self.body = status, body


@dataclass(frozen=True)
class Seen:
    """One request the fake answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int
    body: Any = None


@dataclass
class _Listing:
    """A paged listing in progress (what a page token stands for)."""

    calendar_id: str
    incremental: bool
    after: int  # keyset: last creation number (full) or change number (incremental) returned
    low: int  # incremental: changes after this number
    high: int  # changes up to this number belong to this listing; the next sync token starts here
    show_deleted: bool
    generation: int


@dataclass
class _Channel:
    """A push notification channel (events.watch)."""

    id: str
    calendar_id: str
    resource_id: str
    resource_uri: str
    address: str
    token: str | None
    expiration_ms: int
    number: int = 0
    stopped: bool = False

    def live(self) -> bool:
        return not self.stopped and self.expiration_ms > time.time() * 1000


@dataclass
class _Calendar:
    entry: dict
    resource_id: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    events: dict[str, dict] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)  # event id -> creation number
    changed: dict[str, int] = field(default_factory=dict)  # event id -> change number


class FakeGoogleCalendar(FakeServer):
    """The store plus the server. Tests mutate the store directly to play a user in Google
    (``put_event``, ``edit_event``, ``remove_event``), invalidate tokens (``expire_tokens``),
    limit the rate (``limit_rate``) and read what the hub sent (``requests``, ``count``).
    Its ``base_url`` is the origin to set as the provider app's API base (paths stay /calendar/v3/...)."""

    name = "fake-google-calendar"
    content_type = "application/json; charset=UTF-8"

    def __init__(self, *, accepted_tokens: set[str] | None = None) -> None:
        self.accepted_tokens = accepted_tokens  # None: any non-empty Bearer token
        self.requests: list[Seen] = []
        self._lock = threading.RLock()
        self._calendars: dict[str, _Calendar] = {}
        self._seq = 0
        self._generation = 0
        self._sync_tokens: dict[str, tuple[str, int, int]] = {}  # token -> (calendar, change number, generation)
        self._page_tokens: dict[str, _Listing] = {}
        self._list_pages: dict[str, int] = {}  # calendarList page token -> offset
        self._clock = datetime(2026, 1, 1, tzinfo=UTC)
        self._etag = int(time.time() * 1_000_000)
        self._rate: float | None = None
        self._period = 1.0
        self._retry_after: str | None = "1"
        self._window: deque[float] = deque()
        self._channels: dict[str, _Channel] = {}
        self._outbox: queue.Queue = queue.Queue()
        self._sender: threading.Thread | None = None
        #: every push notification sent: {"address", "headers", "status" (or None), "error"}
        self.notifications: list[dict] = []
        self.channel_ttl = 604800  # seconds, when the watch request names none

    # ------------------------------------------------------------------ server
    def start(self) -> FakeGoogleCalendar:
        super().start()
        self._sender = threading.Thread(target=self._deliver, name="fake-google-calendar-push", daemon=True)
        self._sender.start()
        return self

    def stop(self) -> None:
        if self._sender:
            self._outbox.put(None)
            self._sender.join(timeout=10)
            self._sender = None
        super().stop()

    # ------------------------------------------------------------------ test controls
    def add_calendar(self, calendar_id: str, summary: str, *, primary: bool = False, color: str = "#9fe1e7",
                     access_role: str = "owner", time_zone: str = "Asia/Jerusalem") -> dict:
        entry = {
            "kind": "calendar#calendarListEntry", "etag": self._next_etag(), "id": calendar_id,
            "summary": summary, "timeZone": time_zone, "colorId": "14", "backgroundColor": color,
            "foregroundColor": "#000000", "selected": True, "accessRole": access_role,
            "defaultReminders": [{"method": "popup", "minutes": 10}] if access_role == "owner" else [],
            "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
        }
        if primary:
            entry["primary"] = True  # the field is present only on the primary calendar
        with self._lock:
            self._calendars[calendar_id] = _Calendar(entry)
        return copy.deepcopy(entry)

    def put_event(self, calendar_id: str, **fields: Any) -> dict:
        """Create an event as the user would in Google (no HTTP, no auth, no rate limit)."""
        with self._lock:
            return copy.deepcopy(self._insert(self._calendar(calendar_id), fields))

    def edit_event(self, calendar_id: str, event_id: str, **changes: Any) -> dict:
        """Change an event as the user would (patch semantics; new etag and ``updated``)."""
        with self._lock:
            return copy.deepcopy(self._patch(self._calendar(calendar_id), event_id, changes, None))

    def remove_event(self, calendar_id: str, event_id: str) -> None:
        with self._lock:
            self._delete(self._calendar(calendar_id), event_id, None)

    def event(self, calendar_id: str, event_id: str) -> dict | None:
        with self._lock:
            found = self._calendar(calendar_id).events.get(event_id)
            return copy.deepcopy(found)

    def events(self, calendar_id: str, *, include_deleted: bool = False) -> list[dict]:
        with self._lock:
            cal = self._calendar(calendar_id)
            return [copy.deepcopy(e) for e in cal.events.values() if include_deleted or e["status"] != "cancelled"]

    def expire_tokens(self) -> None:
        """The server invalidates every sync token (and listings in progress): the next
        incremental request answers 410 fullSyncRequired (guides/sync)."""
        with self._lock:
            self._generation += 1
            self._sync_tokens.clear()

    def limit_rate(self, per_second: float | None, *, retry_after: str | None = "1", period: float = 1.0) -> None:
        """Answer 429 rateLimitExceeded beyond ``per_second`` requests in any rolling ``period``
        seconds (one second unless given)."""
        with self._lock:
            self._rate, self._retry_after, self._period = per_second, retry_after, period
            self._window.clear()

    def count(self, method: str | None = None, path_contains: str = "", status: int | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if (method is None or r.method == method)
                       and path_contains in r.path and (status is None or r.status == status))

    # ------------------------------------------------------------------ HTTP entry
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes | None, dict]:
        """One request: (status, JSON body or None, extra headers). The answer is serialised
        under the lock, so the store's own dicts are answered without copying them."""
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query, keep_blank_values=True)
        segments = [unquote(s) for s in parts.path.split("/") if s]
        extra: dict[str, str] = {}
        parsed: Any = None
        with self._lock:
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                status, payload = 400, error_body(400, "parseError", "Parse Error")
            else:
                try:
                    status, payload = self._route(method, segments, query, headers, parsed, extra)
                except ApiError as exc:
                    status, payload = exc.status, exc.body
            self.requests.append(Seen(method, unquote(parts.path), query, headers, status, parsed))
            if payload is None:
                return status, None, extra
            if status == 200 and payload.get("etag"):
                extra["ETag"] = payload["etag"]
            return status, json.dumps(payload).encode(), extra

    def _route(self, method, segments, query, headers, body, extra) -> tuple[int, dict | None]:
        auth = headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if not token or (self.accepted_tokens is not None and token not in self.accepted_tokens):
            return 401, UNAUTHORIZED
        if self._rate_exceeded():
            if self._retry_after is not None:
                extra["Retry-After"] = self._retry_after
            return 429, RATE_LIMITED
        if segments[:2] != ["calendar", "v3"]:
            raise ApiError(404, NOT_FOUND)
        rest = segments[2:]
        if rest == ["users", "me", "calendarList"] and method == "GET":
            return 200, self._calendar_list(query)
        if rest == ["channels", "stop"] and method == "POST":
            self._stop_channel(self._object(body))
            return 204, None
        if len(rest) == 4 and rest[0] == "calendars" and rest[2:] == ["events", "watch"] and method == "POST":
            return 200, self._watch(self._calendar(rest[1]), self._object(body))
        if len(rest) >= 3 and rest[0] == "calendars" and rest[2] == "events":
            cal = self._calendar(rest[1])
            if len(rest) == 3 and method == "GET":
                return 200, self._list(cal, query)
            if len(rest) == 3 and method == "POST":
                return 200, self._insert(cal, self._object(body))
            if len(rest) == 4:
                if_match = headers.get("if-match")
                if method == "GET":
                    return 200, self._get(cal, rest[3])
                if method == "PATCH":
                    return 200, self._patch(cal, rest[3], self._object(body), if_match)
                if method == "DELETE":
                    self._delete(cal, rest[3], if_match)
                    return 204, None
        raise ApiError(404, NOT_FOUND)

    def _rate_exceeded(self) -> bool:
        if not self._rate:
            return False
        now = time.monotonic()
        while self._window and now - self._window[0] >= self._period:
            self._window.popleft()
        if len(self._window) >= self._rate:
            return True
        self._window.append(now)
        return False

    # ------------------------------------------------------------------ calendarList
    def _calendar_list(self, query) -> dict:
        size = min(_int(query, "maxResults", 100), 250)
        token = _one(query, "pageToken")
        if token is not None and token not in self._list_pages:
            raise ApiError(*_bad_request("Invalid page token value.", "pageToken"))
        offset = self._list_pages.get(token, 0) if token else 0
        entries = [c.entry for c in self._calendars.values()]
        out: dict[str, Any] = {"kind": "calendar#calendarList", "etag": self._next_etag(),
                               "items": entries[offset:offset + size]}
        if offset + size < len(entries):
            nxt = secrets.token_urlsafe(12)
            self._list_pages[nxt] = offset + size
            out["nextPageToken"] = nxt
        else:
            out["nextSyncToken"] = secrets.token_urlsafe(12)
        return out

    # ------------------------------------------------------------------ events.list
    def _list(self, cal: _Calendar, query) -> dict:
        size = min(_int(query, "maxResults", 250), 2500)
        if size < 1:
            raise ApiError(*_bad_request("Invalid value for maxResults.", "maxResults"))
        page_token, sync_token = _one(query, "pageToken"), _one(query, "syncToken")
        if sync_token is not None:
            clash = [p for p in SYNC_INCOMPATIBLE if p in query]
            if clash:
                raise ApiError(*_bad_request(f"syncToken cannot be combined with {clash[0]}.", clash[0]))
        cal_id = cal.entry["id"]
        if page_token is not None:
            listing = self._page_tokens.get(page_token)
            if listing is None or listing.calendar_id != cal_id:
                raise ApiError(*_bad_request("Invalid page token value.", "pageToken"))
            if listing.generation != self._generation:
                raise ApiError(410, FULL_SYNC_REQUIRED)
        elif sync_token is not None:
            issued = self._sync_tokens.get(sync_token)
            if issued is None or issued[0] != cal_id or issued[2] != self._generation:
                raise ApiError(410, FULL_SYNC_REQUIRED)
            listing = _Listing(cal_id, True, issued[1], issued[1], self._seq, True, self._generation)
        else:
            show_deleted = _one(query, "showDeleted") == "true"
            listing = _Listing(cal_id, False, 0, 0, self._seq, show_deleted, self._generation)
        if listing.incremental:
            keyed = sorted((n, i) for i, n in cal.changed.items() if listing.low < n <= listing.high)
        else:
            keyed = sorted((cal.created[i], i) for i, e in cal.events.items()
                           if listing.show_deleted or e["status"] != "cancelled")
        keyed = [(n, i) for n, i in keyed if n > listing.after]
        page = keyed[:size]
        out: dict[str, Any] = {
            "kind": "calendar#events", "etag": self._next_etag(), "summary": cal.entry["summary"],
            "description": "", "updated": self._stamp(advance=False), "timeZone": cal.entry["timeZone"],
            "accessRole": cal.entry["accessRole"], "defaultReminders": cal.entry["defaultReminders"],
            "items": [self._listed(cal.events[i]) for _, i in page],
        }
        if len(keyed) > size:
            token = secrets.token_urlsafe(24)
            self._page_tokens[token] = _Listing(cal_id, listing.incremental, page[-1][0], listing.low,
                                                listing.high, listing.show_deleted, listing.generation)
            out["nextPageToken"] = token
        else:
            token = secrets.token_urlsafe(24)
            self._sync_tokens[token] = (cal_id, listing.high, self._generation)
            out["nextSyncToken"] = token
        return out

    @staticmethod
    def _listed(event: dict) -> dict:
        if event["status"] == "cancelled":  # deleted events: only the id is guaranteed (Event.status)
            return {k: event[k] for k in ("kind", "etag", "id", "status", "updated")}
        return event

    # ------------------------------------------------------------------ single events
    def _get(self, cal: _Calendar, event_id: str) -> dict:
        event = cal.events.get(event_id)
        if event is None:
            raise ApiError(404, NOT_FOUND)
        return event  # get returns cancelled events too

    def _insert(self, cal: _Calendar, body: dict) -> dict:
        event_id = body.get("id")
        if event_id is not None:
            if not (isinstance(event_id, str) and 5 <= len(event_id) <= 1024 and set(event_id) <= BASE32HEX):
                raise ApiError(*_bad_request("Invalid resource id value.", "id"))
            if event_id in cal.events:
                raise ApiError(409, DUPLICATE)
        else:
            event_id = "".join(secrets.choice("0123456789abcdefghijklmnopqrstuv") for _ in range(26))
        for side in ("start", "end"):
            if not isinstance(body.get(side), dict):
                raise ApiError(*_bad_request(f"Missing {side} time.", reason="required"))
        stamp = self._stamp()
        event = {
            "kind": "calendar#event", "etag": self._next_etag(), "id": event_id, "status": "confirmed",
            "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}", "created": stamp, "updated": stamp,
            "creator": {"email": cal.entry["id"], "self": True}, "organizer": {"email": cal.entry["id"], "self": True},
            "iCalUID": f"{event_id}@google.com", "sequence": 0, "reminders": {"useDefault": True},
            "eventType": "default",
        }
        for key, value in body.items():
            if key not in READ_ONLY and value is not None:
                event[key] = copy.deepcopy(value)
        self._check(event)
        cal.events[event_id] = event
        cal.created[event_id] = self._bump()
        cal.changed[event_id] = self._seq
        self._notify(cal)
        return event

    def _patch(self, cal: _Calendar, event_id: str, body: dict, if_match: str | None) -> dict:
        event = cal.events.get(event_id)
        if event is None:
            raise ApiError(404, NOT_FOUND)
        if if_match is not None and if_match != event["etag"]:
            raise ApiError(412, PRECONDITION_FAILED)
        merged = copy.deepcopy(event)
        _merge(merged, {k: v for k, v in body.items() if k not in READ_ONLY})
        self._check(merged)
        if merged.get("start") != event.get("start") or merged.get("end") != event.get("end"):
            merged["sequence"] = event.get("sequence", 0) + 1
        merged["etag"], merged["updated"] = self._next_etag(), self._stamp()
        cal.events[event_id] = merged
        cal.changed[event_id] = self._bump()
        self._notify(cal)
        return merged

    def _delete(self, cal: _Calendar, event_id: str, if_match: str | None) -> None:
        event = cal.events.get(event_id)
        if event is None:
            raise ApiError(404, NOT_FOUND)
        if if_match is not None and if_match != event["etag"]:
            raise ApiError(412, PRECONDITION_FAILED)
        if event["status"] == "cancelled":
            raise ApiError(410, ALREADY_DELETED)
        event.update(status="cancelled", etag=self._next_etag(), updated=self._stamp())
        cal.changed[event_id] = self._bump()
        self._notify(cal)

    @staticmethod
    def _check(event: dict) -> None:
        """start/end: exactly one of date / dateTime each, both of the same kind, end not before start."""
        bounds = []
        for side in ("start", "end"):
            value = event.get(side) or {}
            kinds = [k for k in ("date", "dateTime") if value.get(k) is not None]
            if len(kinds) != 1:
                raise ApiError(*_bad_request(f"Invalid {side} time.", side))
            try:
                text = value[kinds[0]]
                bounds.append(date.fromisoformat(text) if kinds[0] == "date"
                              else datetime.fromisoformat(text.replace("Z", "+00:00")))
            except (TypeError, ValueError):
                raise ApiError(*_bad_request(f"Invalid {side} time.", side)) from None
        start, end = bounds
        if type(start) is not type(end):
            raise ApiError(*_bad_request("Start and end times must either both be date or both be dateTime.", "end"))
        if isinstance(start, datetime) and (start.tzinfo is None) != (end.tzinfo is None):
            raise ApiError(*_bad_request("Missing time zone definition for start time.", "start"))
        if end < start or (not isinstance(start, datetime) and end == start):
            raise ApiError(400, error_body(400, "timeRangeEmpty", "The specified time range is empty.",
                                           domain="calendar", location_type="parameter", location="end"))
        for attendee in event.get("attendees") or []:
            if not isinstance(attendee, dict) or not attendee.get("email"):
                raise ApiError(*_bad_request("Missing attendee email.", "attendees", reason="required"))
            attendee.setdefault("responseStatus", "needsAction")
        for scope in ("private", "shared"):
            props = (event.get("extendedProperties") or {}).get(scope) or {}
            if not all(isinstance(v, str) for v in props.values()):
                raise ApiError(*_bad_request("Invalid extended property value.", "extendedProperties"))

    # ------------------------------------------------------------------ push (events.watch)
    def _watch(self, cal: _Calendar, body: dict) -> dict:
        """https://developers.google.com/calendar/api/guides/push: a Channel in, the Channel
        with resourceId / resourceUri / expiration out, then a ``sync`` notification."""
        channel_id, address = body.get("id"), body.get("address")
        if body.get("type") not in ("web_hook", "webhook") or not channel_id or not address:
            raise ApiError(*_bad_request("A channel needs an id, type web_hook and an address.", reason="required"))
        if channel_id in self._channels:
            raise ApiError(400, error_body(400, "channelIdNotUnique", "Channel id not unique."))
        ttl = (body.get("params") or {}).get("ttl")
        expiration = int(body["expiration"]) if body.get("expiration") else int((time.time() + int(ttl or self.channel_ttl)) * 1000)
        channel = _Channel(
            id=channel_id, calendar_id=cal.entry["id"], resource_id=cal.resource_id,
            resource_uri=f"{self.base_url}/calendar/v3/calendars/{quote(cal.entry['id'], safe='')}/events?alt=json",
            address=address, token=body.get("token"), expiration_ms=expiration,
        )
        self._channels[channel_id] = channel
        self._send(channel, "sync")
        out = {"kind": "api#channel", "id": channel.id, "resourceId": channel.resource_id,
               "resourceUri": channel.resource_uri, "expiration": str(channel.expiration_ms)}
        if channel.token:
            out["token"] = channel.token
        return out

    def _stop_channel(self, body: dict) -> None:
        channel = self._channels.get(body.get("id") or "")
        if channel is None or channel.resource_id != body.get("resourceId"):
            raise ApiError(404, NOT_FOUND)
        channel.stopped = True

    def _notify(self, cal: _Calendar) -> None:
        for channel in self._channels.values():
            if channel.calendar_id == cal.entry["id"] and channel.live():
                self._send(channel, "exists")

    def _send(self, channel: _Channel, state: str) -> None:
        channel.number += 1
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": format_datetime(
                datetime.fromtimestamp(channel.expiration_ms / 1000, UTC), usegmt=True),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-URI": channel.resource_uri,
            "X-Goog-Resource-State": state,
            "X-Goog-Message-Number": str(channel.number),
        }
        if channel.token:
            headers["X-Goog-Channel-Token"] = channel.token
        self._outbox.put((channel.address, headers))

    def _deliver(self) -> None:
        """Notifications leave in order from one thread, outside the store's lock."""
        session = requests.Session()
        session.trust_env = False
        while (item := self._outbox.get()) is not None:
            address, headers = item
            record: dict[str, Any] = {"address": address, "headers": headers, "status": None, "error": None}
            try:
                record["status"] = session.post(address, headers=headers, data=b"", timeout=5).status_code
            except requests.RequestException as exc:
                record["error"] = type(exc).__name__
            with self._lock:
                self.notifications.append(record)

    def expire_channels(self) -> None:
        """Every channel reaches its expiration now (no more notifications)."""
        with self._lock:
            for channel in self._channels.values():
                channel.expiration_ms = 0

    def wait_for_notifications(self, count: int, timeout: float = 10.0) -> list[dict]:
        """The first ``count`` notifications sent, once they have been (fails loudly otherwise)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.notifications) >= count:
                    return list(self.notifications[:count])
            time.sleep(0.02)
        raise AssertionError(f"{len(self.notifications)} of {count} push notifications sent within {timeout} s")

    # ------------------------------------------------------------------ helpers
    def _calendar(self, calendar_id: str) -> _Calendar:
        if calendar_id == "primary":
            for cal in self._calendars.values():
                if cal.entry.get("primary"):
                    return cal
        cal = self._calendars.get(calendar_id)
        if cal is None:
            raise ApiError(404, NOT_FOUND)
        return cal

    @staticmethod
    def _object(body: Any) -> dict:
        if not isinstance(body, dict):
            raise ApiError(*_bad_request("A JSON object body is required.", reason="required"))
        return body

    def _bump(self) -> int:
        self._seq += 1
        return self._seq

    def _next_etag(self) -> str:
        self._etag = max(self._etag + 1, int(time.time() * 1_000_000))
        return f'"{self._etag}"'

    def _stamp(self, *, advance: bool = True) -> str:
        """RFC 3339 with milliseconds in UTC, strictly increasing across changes."""
        now = datetime.now(UTC)
        if advance:
            self._clock = max(now, self._clock + timedelta(milliseconds=1))
        moment = self._clock if advance else max(now, self._clock)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _merge(target: dict, patch: dict) -> None:
    """Patch semantics: nested objects merge, arrays and scalars replace, null clears."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _int(query: dict[str, list[str]], name: str, default: int) -> int:
    value = _one(query, name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ApiError(*_bad_request(f"Invalid value for {name}.", name)) from None


@pytest.fixture
def google_calendar_fake() -> Iterator[FakeGoogleCalendar]:
    """A started fake with no calendars; stopped after the test."""
    with running(FakeGoogleCalendar()) as fake:
        yield fake
