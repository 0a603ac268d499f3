"""Outlook Calendar's adapter: Microsoft Graph v1.0 calendars and events.

Every call goes through the ``client`` (the provider app's API base, ``/v1.0`` kept; Bearer
token; rate limit; 429 / Retry-After handled there) and asks Graph for UTC times and text
bodies (``Prefer: outlook.timezone="UTC", outlook.body-content-type="text"``).

- Containers: ``GET /me/calendars`` (all pages); ``isDefaultCalendar`` is the primary one.
  The container id ``primary`` also means the default calendar (``/me/calendarView/delta``,
  ``POST /me/events``).
- Changes: ``GET /me/calendars/{id}/calendarView/delta?startDateTime=&endDateTime=``
  (https://learn.microsoft.com/en-us/graph/api/event-delta ,
  https://learn.microsoft.com/en-us/graph/delta-query-events; v1.0's reference page names
  only the default calendar's ``/me/calendarView/delta``, the concept page and the beta
  reference name a specified calendar's view as well). Graph tracks a calendar
  *view*, so a full listing covers a window fixed by its first call: ``WINDOW_PAST`` back
  and ``WINDOW_FUTURE`` ahead of that moment (1 year / 2 years; Django settings
  ``OUTLOOK_CALENDAR_WINDOW_PAST_DAYS`` / ``OUTLOOK_CALENDAR_WINDOW_FUTURE_DAYS`` override).
  Events outside it are not imported; a full sync (``{"full": true}``) re-centres it. Pages
  hold ``PAGE_SIZE`` events (``Prefer: odata.maxpagesize``; setting ``OUTLOOK_CALENDAR_PAGE_SIZE``). The
  cursor is Graph's own ``@odata.nextLink`` (more pages) or ``@odata.deltaLink`` (done) --
  absolute URLs, called as they are, and only on the client's API origin. An expired or
  evicted state token (``410 Gone``, or error code ``syncStateNotFound`` /
  ``syncStateInvalid`` / ``resyncRequired`` on any 4xx) raises ``CursorInvalid``. An
  ``@removed`` item is read back with ``GET /me/events/{id}``: Graph also reports events
  *outside* the window that were added or updated as removed, so only a 404 is a deletion
  (one extra call per removal; the delta function takes no ``$filter`` to avoid it).
  Recurring series arrive as their occurrences (``type: occurrence``), each its own record.
- ``raw`` is the Graph event JSON with ``start`` / ``end`` rewritten to aware UTC ISO 8601
  (``{"dateTime": "2026-12-10T19:00:00+00:00", "timeZone": "UTC"}``) so ``date_format``
  reads an instant; ``version`` is ``@odata.etag`` (``W/"<changeKey>"``), sent back as
  ``If-Match`` (412 -> ``VersionConflict``); ``modified_at`` is ``lastModifiedDateTime``.
- Hub id: created events carry the single-value extended property ``HUB_ID_PROPERTY``
  (a String in the hub's own GUID namespace, never shown in Outlook) and
  ``transactionId = "architect-studio:<hub id>"`` (Graph's guard against a retried POST
  creating a duplicate; Graph publishes no window for it, so a create retried much later
  relies on the hub id read back below). Delta responses carry ``transactionId`` but not extended
  properties (the delta function takes no ``$expand``), so ``hub_id`` is read from the
  extended property when present and from ``transactionId`` otherwise.
- Writes: ``POST .../events`` and ``PATCH /me/events/{id}`` with naive UTC times plus
  ``timeZone: "UTC"`` (https://learn.microsoft.com/en-us/graph/api/resources/datetimetimezone),
  ``DELETE /me/events/{id}`` (404 = already gone). A PATCH on a deleted event answers a
  ``RemoteChange`` with ``deleted=True``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integrations.providers._calendar import CalendarSettings
from integrations.providers.adapter import (
    Caller,
    ChangePage,
    Container,
    CursorInvalid,
    ProviderAdapter,
    RemoteChange,
    VersionConflict,
    Watch,
)

#: The hub's property set (a GUID of our own) and the property carrying the local record's id.
HUB_ID_PROPERTY_SET = "{33229140-f540-498a-8aa8-e394ee6e6ed3}"
HUB_ID_PROPERTY = f"String {HUB_ID_PROPERTY_SET} Name architectStudioHubId"
TRANSACTION_PREFIX = "architect-studio:"
WINDOW_PAST = timedelta(days=365)
WINDOW_FUTURE = timedelta(days=730)
PAGE_SIZE = 100
PREFER = 'outlook.timezone="UTC", outlook.body-content-type="text"'
#: A subscription's lifetime: Graph's maximum for Outlook events is 10,080 minutes (under 7 days),
#: https://learn.microsoft.com/en-us/graph/api/resources/subscription (maximum length of subscription).
SUBSCRIPTION_LIFETIME = timedelta(minutes=10080) - timedelta(minutes=30)
#: Error codes Graph uses for a state token it no longer has (delta-query-overview, "synchronization reset").
RESYNC_CODES = frozenset({"syncstatenotfound", "syncstateinvalid", "resyncrequired"})

MEETING_MAPPING = [
    {"localEntity": "meeting", "localField": "title", "remoteField": "subject"},
    {"localEntity": "meeting", "localField": "description", "remoteField": "body.content"},
    {"localEntity": "meeting", "localField": "startTime", "remoteField": "start.dateTime", "transform": "date_format"},
    {"localEntity": "meeting", "localField": "endTime", "remoteField": "end.dateTime", "transform": "date_format"},
    {"localEntity": "meeting", "localField": "location", "remoteField": "location.displayName"},
    {"localEntity": "meeting", "localField": "attendees", "remoteField": "attendees[].emailAddress.address"},
]


class GraphError(Exception):
    """Graph refused a call (status and Graph's error code; no token, no body)."""

    def __init__(self, what: str, status: int, code: str | None):
        super().__init__(f"Outlook Calendar {what}: HTTP {status}" + (f" ({code})" if code else ""))
        self.status = status
        self.code = code


def _error_code(data: Any) -> str | None:
    error = data.get("error") if isinstance(data, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return str(code) if code else None


def _setting(name: str, default: timedelta) -> timedelta:
    from django.conf import settings

    days = getattr(settings, name)  # architect_studio/settings/base.py defines each window setting
    return default if days is None else timedelta(days=int(days))


def _parse_instant(value: str, zone: str | None) -> datetime | None:
    """A Graph dateTime (naive, up to 7 fractional digits) in ``zone``, or any ISO 8601 instant, as UTC."""
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?)?)(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?", value.strip())
    if not match:
        return None
    moment = datetime.fromisoformat(match.group(1))
    if match.group(2):
        moment = moment.replace(microsecond=int(match.group(2)[:6].ljust(6, "0")))
    if match.group(3):
        return datetime.fromisoformat(moment.isoformat() + match.group(3).replace("Z", "+00:00")).astimezone(UTC)
    try:
        tz = ZoneInfo("UTC" if zone in (None, "", "UTC", "Coordinated Universal Time") else zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None  # a Windows zone name: Graph honours outlook.timezone, so this is not expected
    return moment.replace(tzinfo=tz).astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds" if not moment.microsecond else "microseconds")


def _graph_instant(moment: datetime) -> str:
    """A DateTimeOffset as Graph's subscription examples write it: UTC, Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _page_size() -> int:
    from django.conf import settings

    return int(settings.OUTLOOK_CALENDAR_PAGE_SIZE or PAGE_SIZE)


class OutlookCalendarAdapter(CalendarSettings, ProviderAdapter):
    #: Events per delta page (``Prefer: odata.maxpagesize``); None = the Django setting
    #: ``OUTLOOK_CALENDAR_PAGE_SIZE``, else ``PAGE_SIZE``.
    page_size: int | None = None

    # ------------------------------------------------------------------ mapping
    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        if (local_type, remote_type) == ("meeting", "event"):
            return copy.deepcopy(MEETING_MAPPING)
        return []

    # ------------------------------------------------------------------ containers
    def list_containers(self, client: Caller) -> list[Container]:
        found: list[Container] = []
        url: str | None = "/me/calendars"
        while url:
            response = client.request("GET", url, headers={"Prefer": PREFER})
            if not response.ok:
                raise GraphError("calendar list", response.status, _error_code(response.data))
            for item in response.data.get("value", []):
                found.append(Container(id=item["id"], name=item.get("name") or item["id"],
                                       primary=bool(item.get("isDefaultCalendar")), raw=item))
            url = response.data.get("@odata.nextLink")
            if url:
                self._check_origin(client, url)
        return found

    # ------------------------------------------------------------------ changes
    def window(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        """The calendar view a full listing tracks (fixed for the life of its deltaLink)."""
        now = (now or datetime.now(UTC)).replace(microsecond=0)
        return (now - _setting("OUTLOOK_CALENDAR_WINDOW_PAST_DAYS", WINDOW_PAST),
                now + _setting("OUTLOOK_CALENDAR_WINDOW_FUTURE_DAYS", WINDOW_FUTURE))

    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        headers = {"Prefer": f"{PREFER}, odata.maxpagesize={self.page_size or _page_size()}"}
        if cursor is None:
            start, end = self.window()
            response = client.request("GET", self._calendar_path(container) + "/calendarView/delta", headers=headers,
                                      params={"startDateTime": _iso(start).replace("+00:00", "Z"),
                                              "endDateTime": _iso(end).replace("+00:00", "Z")})
        else:
            if "/calendarView/delta" not in urlsplit(cursor).path:
                raise CursorInvalid("the stored cursor is not a Graph calendarView delta link")
            self._check_origin(client, cursor, invalid=CursorInvalid)
            response = client.request("GET", cursor, headers=headers)
        code = _error_code(response.data)
        if response.status == 410 or (400 <= response.status < 500 and code and code.lower() in RESYNC_CODES):
            raise CursorInvalid(f"Graph answered {response.status} {code or ''}".strip())
        if not response.ok:
            raise GraphError("change listing", response.status, code)
        changes = tuple(self._change(client, item) for item in response.data.get("value", []))
        next_link, delta_link = response.data.get("@odata.nextLink"), response.data.get("@odata.deltaLink")
        if next_link:
            return ChangePage(changes, next_link, False)
        if delta_link:
            return ChangePage(changes, delta_link, True)
        raise GraphError("change listing without nextLink or deltaLink", response.status, None)

    def _change(self, client: Caller, item: Mapping[str, Any]) -> RemoteChange:
        if "@removed" not in item:
            return self._remote(item)
        # Graph also marks "@removed" an event *outside* the window that was added or updated
        # (event-delta, "Response"): only a 404 on the event itself is a deletion, so an event
        # moved past the window (or the hub's own update to one) never deletes the local record.
        remote_id = str(item["id"])
        response = client.request("GET", self._event_path(remote_id), headers={"Prefer": PREFER})
        if response.status in (404, 410):
            return RemoteChange(remote_id=remote_id, deleted=True, raw=dict(item))
        if not response.ok:
            raise GraphError("event read", response.status, _error_code(response.data))
        return self._remote(response.data)

    def _remote(self, item: Mapping[str, Any], *, hub_id: str | None = None) -> RemoteChange:
        raw = dict(item)
        for name in ("start", "end"):
            value = raw.get(name)
            if isinstance(value, dict) and isinstance(value.get("dateTime"), str):
                moment = _parse_instant(value["dateTime"], value.get("timeZone"))
                if moment is not None:
                    raw[name] = {**value, "dateTime": _iso(moment), "timeZone": "UTC"}
        change_key = raw.get("changeKey")
        version = raw.get("@odata.etag") or (f'W/"{change_key}"' if change_key else None)
        modified = raw.get("lastModifiedDateTime")
        return RemoteChange(
            remote_id=str(raw["id"]), deleted=False, version=version, raw=raw,
            modified_at=_parse_instant(modified, "UTC") if isinstance(modified, str) else None,
            hub_id=hub_id or self.hub_id_of(raw),
        )

    @staticmethod
    def hub_id_of(event: Mapping[str, Any]) -> str | None:
        """The hub's id stamped on an event: the extended property when expanded, else transactionId."""
        for prop in event.get("singleValueExtendedProperties") or []:
            if isinstance(prop, dict) and str(prop.get("id", "")).lower() == HUB_ID_PROPERTY.lower() and prop.get("value"):
                return str(prop["value"])
        transaction = event.get("transactionId")
        if isinstance(transaction, str) and transaction.startswith(TRANSACTION_PREFIX):
            return transaction[len(TRANSACTION_PREFIX):] or None
        return None

    # ------------------------------------------------------------------ writes
    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        body = self._outgoing(record)
        props = [p for p in body.get("singleValueExtendedProperties") or [] if p.get("id") != HUB_ID_PROPERTY]
        body["singleValueExtendedProperties"] = [*props, {"id": HUB_ID_PROPERTY, "value": hub_id}]
        body["transactionId"] = TRANSACTION_PREFIX + hub_id
        path = "/me/events" if container == "primary" else self._calendar_path(container) + "/events"
        response = client.request("POST", path, json=body, headers={"Prefer": PREFER})
        if not response.ok:
            raise GraphError("create", response.status, _error_code(response.data))
        return self._remote(response.data, hub_id=hub_id)

    def push_update(self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
                    version: str | None) -> RemoteChange:
        headers = {"Prefer": PREFER, **({"If-Match": version} if version else {})}
        response = client.request("PATCH", self._event_path(remote_id), json=self._outgoing(record), headers=headers)
        if response.status == 412:
            raise VersionConflict(f"Outlook event {remote_id} changed since {version}")
        if response.status in (404, 410):
            return RemoteChange(remote_id=remote_id, deleted=True)
        if not response.ok:
            raise GraphError("update", response.status, _error_code(response.data))
        return self._remote(response.data)

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        headers = {"If-Match": version} if version else {}
        response = client.request("DELETE", self._event_path(remote_id), headers=headers)
        if response.status == 412:
            raise VersionConflict(f"Outlook event {remote_id} changed since {version}")
        if not (response.ok or response.status in (404, 410)):
            raise GraphError("delete", response.status, _error_code(response.data))

    # ------------------------------------------------------------------ push (realtime import)
    push_renews_in_place = True

    def watch(self, client: Caller, *, container: str, address: str, token: str, channel_id: str) -> Watch:
        """``POST /subscriptions`` on the calendar's events, ``clientState`` = ``token``. Graph
        validates ``address`` first (it POSTs ``?validationToken=`` and wants it echoed) and
        answers 201 with the subscription.
        https://learn.microsoft.com/en-us/graph/api/subscription-post-subscriptions"""
        resource = "me/events" if container == "primary" else f"me/calendars/{quote(container, safe='')}/events"
        body = {"changeType": "created,updated,deleted", "notificationUrl": address, "resource": resource,
                "expirationDateTime": _graph_instant(datetime.now(UTC) + SUBSCRIPTION_LIFETIME),
                "clientState": token, "latestSupportedTlsVersion": "v1_2"}
        response = client.request("POST", "/subscriptions", json=body)
        if not response.ok:
            raise GraphError("subscription", response.status, _error_code(response.data))
        return self._watch(response.data, resource)

    def renew(self, client: Caller, *, channel_id: str, resource_id: str) -> Watch:
        """``PATCH /subscriptions/{id}`` with a new ``expirationDateTime``.
        https://learn.microsoft.com/en-us/graph/api/subscription-update"""
        response = client.request("PATCH", f"/subscriptions/{quote(channel_id, safe='')}", idempotent=True,
                                  json={"expirationDateTime": _graph_instant(datetime.now(UTC) + SUBSCRIPTION_LIFETIME)})
        if not response.ok:
            raise GraphError("subscription renewal", response.status, _error_code(response.data))
        return self._watch(response.data, resource_id)

    def stop(self, client: Caller, *, channel_id: str, resource_id: str) -> None:
        """``DELETE /subscriptions/{id}`` (404: gone already).
        https://learn.microsoft.com/en-us/graph/api/subscription-delete"""
        response = client.request("DELETE", f"/subscriptions/{quote(channel_id, safe='')}")
        if not (response.ok or response.status == 404):
            raise GraphError("subscription delete", response.status, _error_code(response.data))

    @staticmethod
    def _watch(data: Any, resource: str) -> Watch:
        data = data if isinstance(data, dict) else {}
        expires = _parse_instant(str(data.get("expirationDateTime") or ""), "UTC")
        if not data.get("id") or expires is None:
            raise GraphError("subscription without id or expirationDateTime", 200, None)
        return Watch(channel_id=str(data["id"]), resource_id=str(data.get("resource") or resource), expires_at=expires)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _calendar_path(container: str) -> str:
        return "/me" if container == "primary" else f"/me/calendars/{quote(container, safe='')}"

    @staticmethod
    def _event_path(remote_id: str) -> str:
        return f"/me/events/{quote(remote_id, safe='')}"

    @staticmethod
    def _check_origin(client: Caller, url: str, *, invalid: type[Exception] = ValueError) -> None:
        """A link from Graph is called with the Bearer token: only on the client's own API origin."""
        base = getattr(client, "base_url", None)
        if not base:
            return
        link, ours = urlsplit(url), urlsplit(base)
        if (link.scheme, link.netloc) != (ours.scheme, ours.netloc):
            raise invalid("a Graph link points outside the configured API origin")

    @staticmethod
    def _outgoing(record: Mapping[str, Any]) -> dict[str, Any]:
        """The mapped record as Graph takes it: naive UTC dateTime + timeZone, a text body by
        default, attendees typed ``required`` unless the mapping says otherwise."""
        body = copy.deepcopy(dict(record))
        for name in ("start", "end"):
            value = body.get(name)
            if isinstance(value, dict) and value.get("dateTime") not in (None, ""):
                body[name] = _outgoing_time(value)
                if body[name].pop("_allDay", False):
                    body.setdefault("isAllDay", True)
        if isinstance(body.get("body"), dict):
            body["body"].setdefault("contentType", "text")
            if body["body"].get("content") is None:
                body["body"]["content"] = ""
        if isinstance(body.get("attendees"), list):
            body["attendees"] = [{"type": "required", **a} if isinstance(a, dict) else a for a in body["attendees"]]
        return body


def _outgoing_time(value: Mapping[str, Any]) -> dict[str, Any]:
    """An aware instant -> naive UTC + "UTC"; a naive one keeps its timeZone (UTC when none);
    a bare date -> midnight, flagged all-day."""
    given = value["dateTime"]
    out = dict(value)
    if isinstance(given, datetime):
        moment = given if given.tzinfo else given.replace(tzinfo=ZoneInfo(value.get("timeZone") or "UTC"))
        return {**out, "dateTime": moment.astimezone(UTC).replace(tzinfo=None).isoformat(), "timeZone": "UTC"}
    if isinstance(given, date):
        return {**out, "dateTime": f"{given.isoformat()}T00:00:00", "timeZone": out.get("timeZone") or "UTC",
                "_allDay": True}
    text = str(given).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return {**out, "dateTime": f"{text}T00:00:00", "timeZone": out.get("timeZone") or "UTC", "_allDay": True}
    if re.search(r"(Z|[+-]\d{2}:?\d{2})$", text):
        moment = _parse_instant(text, None)
        if moment is not None:
            return {**out, "dateTime": moment.replace(tzinfo=None).isoformat(), "timeZone": "UTC"}
    return {**out, "dateTime": text, "timeZone": out.get("timeZone") or "UTC"}
