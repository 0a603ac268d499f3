"""Google Calendar's adapter: the base behaviour (Bearer OAuth token, the entry's test call)
plus the sync seam against Calendar API v3. Every call goes through the hub's
``ProviderClient`` (``client.request``) to a path under ``/calendar/v3/``; the client puts
it under the provider app's API base (DESIGN C12). Calendar and event ids are URL-quoted.

What is supported, and how:

- **Containers** (``list_containers``): ``calendarList.list``, every page; the entry with
  ``primary: true`` is flagged; the name is the user's ``summaryOverride`` or ``summary``;
  the color is ``backgroundColor``. https://developers.google.com/calendar/api/v3/reference/calendarList/list
- **Changes** (``list_changes``): ``events.list`` with ``showDeleted=true``,
  ``singleEvents=false`` and ``maxResults=250``; with the stored ``syncToken`` when there
  is one (https://developers.google.com/calendar/api/guides/sync). A page's ``cursor`` is
  this module's own JSON (``{"page": ..., "sync": ...}``, opaque to the engine): mid-listing
  it holds the ``nextPageToken`` (plus the sync token of an incremental listing), so an
  interrupted full listing resumes at its page; on the last page it holds
  ``nextSyncToken`` and ``done`` is True. 410 Gone (``fullSyncRequired``) -- or a 400 for a
  stored page token Google no longer takes, or a cursor this module cannot read -- raises
  ``CursorInvalid``: the engine runs a full listing. ``status: "cancelled"`` is a deletion
  (only ``id`` is guaranteed on those). ``modified_at`` is ``updated``; ``hub_id`` is
  ``extendedProperties.private.architectStudioId``; ``version`` the ``etag``.
- **Recurring events** are out of scope beyond the simple case: with ``singleEvents=false``
  a series arrives once, as its master event (its first occurrence's start/end, the
  ``recurrence`` rules kept in the raw record), and is synced as one record. Changed or
  cancelled single occurrences (events carrying ``recurringEventId``) are skipped: the
  hub's meeting has no recurrence to attach them to, and importing them would duplicate
  the series.
- **Create** (``push_create``): ``events.insert`` stamped with
  ``extendedProperties.private.architectStudioId = hub_id``. When the hub id is a UUID the
  event id is chosen by us (``"as"`` + the UUID's hex -- valid base32hex, unique per
  calendar), so a retried or crashed create cannot make a second event: Google answers 409
  ``duplicate`` and the existing event is patched to the record (and un-deleted if the user
  had deleted it) instead. https://developers.google.com/calendar/api/v3/reference/events/insert
- **Update** (``push_update``): ``events.patch`` with ``If-Match: <etag>``; 412 ->
  ``VersionConflict``. Patch semantics merge nested objects, so a change between a timed
  and an all-day event clears the other form (``dateTime: null`` / ``date: null``).
- **Delete** (``push_delete``): ``events.delete`` with ``If-Match``; 410 (already deleted)
  and 404 are success; 412 -> ``VersionConflict``.
- Outgoing records are normalised: attendees given as email strings become
  ``{"email": ...}`` objects; an all-day event whose end date is not after its start gets
  ``end.date = start.date + 1 day`` (Google's end date is exclusive), which is how a task's
  ``dueDate`` becomes a one-day event.
- **Default mappings**: ``(meeting, event)`` = the seed's GOOGLE_CALENDAR_MAPPING (attendees per item);
  ``(task, event)`` (export only) = title -> summary, description -> description,
  dueDate -> ``start.date`` and ``end.date`` (``date_format`` with ``format: date``: an
  all-day event on the due day, in the integration's time zone).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from integrations.providers._calendar import DEFAULT_CALENDAR_MAPPING, CalendarSettings
from integrations.providers._google import channel_watch
from integrations.providers.adapter import (
    Answer,
    Caller,
    ChangePage,
    Container,
    CursorInvalid,
    ProviderAdapter,
    RemoteChange,
    VersionConflict,
    Watch,
)
from integrations.providers.common import AnswerError, instant

API = "/calendar/v3"
#: Lifetime asked of a watch channel (``params.ttl``, seconds); Google may grant less and
#: says so in ``expiration``. https://developers.google.com/calendar/api/guides/push
CHANNEL_TTL = 7 * 24 * 3600
HUB_ID_KEY = "architectStudioId"
PAGE_SIZE = 250  # Google's default and the hub's page; the maximum is 2500
MAX_CONTAINER_PAGES = 40  # 10,000 calendars: a guard against a server repeating page tokens

# The seed's GOOGLE_CALENDAR_MAPPING (section ג), shared by the three calendars: attendees
# per item (``attendees[].email``), so Google's response status and display names are not
# copied into the meeting (integrations.sync.mapping says why).
GOOGLE_CALENDAR_MAPPING: list[dict[str, Any]] = DEFAULT_CALENDAR_MAPPING

# A task with a due date becomes an all-day event on that day (seed ג: syncTasks).
TASK_EVENT_MAPPING: list[dict[str, Any]] = [
    {"localEntity": "task", "localField": "title", "remoteField": "summary"},
    {"localEntity": "task", "localField": "description", "remoteField": "description"},
    {"localEntity": "task", "localField": "dueDate", "remoteField": "start.date", "transform": "date_format",
     "transformConfig": {"format": "date"}},
    {"localEntity": "task", "localField": "dueDate", "remoteField": "end.date", "transform": "date_format",
     "transformConfig": {"format": "date"}},
]


class GoogleCalendarError(AnswerError):
    """An answer the sync cannot use (neither success nor a documented case handled here).
    Carries the status and Google's ``reason``; never a token or a URL."""

    provider = "Google Calendar"

    def __init__(self, what: str, response: Answer) -> None:
        self.reason = _reason(response)
        super().__init__(what, response.status, self.reason)


class GoogleCalendarAdapter(CalendarSettings, ProviderAdapter):
    # ------------------------------------------------------------------ containers
    def list_containers(self, client: Caller) -> list[Container]:
        found: list[Container] = []
        page_token: str | None = None
        for _ in range(MAX_CONTAINER_PAGES):
            params: dict[str, Any] = {"maxResults": 250}
            if page_token:
                params["pageToken"] = page_token
            response = client.request("GET", f"{API}/users/me/calendarList", params=params)
            if not response.ok:
                raise GoogleCalendarError("calendar list", response)
            data = response.data if isinstance(response.data, dict) else {}
            for item in data.get("items") or []:
                if not item.get("id"):
                    continue
                found.append(Container(
                    id=item["id"], name=item.get("summaryOverride") or item.get("summary") or item["id"],
                    primary=bool(item.get("primary")), raw=item, color=item.get("backgroundColor"),
                ))
            page_token = data.get("nextPageToken")
            if not page_token:
                break
        return found

    # ------------------------------------------------------------------ changes
    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        page_token, sync_token = _decode(cursor)
        params: dict[str, Any] = {"maxResults": PAGE_SIZE, "showDeleted": "true", "singleEvents": "false"}
        if sync_token:
            params["syncToken"] = sync_token
        if page_token:
            params["pageToken"] = page_token
        response = client.request("GET", _events_path(container), params=params)
        if response.status == 410:
            raise CursorInvalid(f"Google Calendar refused the sync token ({_reason(response) or 'gone'})")
        if response.status == 400 and page_token:
            raise CursorInvalid(f"Google Calendar refused the stored page token ({_reason(response) or 'invalid'})")
        if not response.ok:
            raise GoogleCalendarError("event listing", response)
        data = response.data if isinstance(response.data, dict) else {}
        changes = tuple(_change(item) for item in data.get("items") or []
                        if item.get("id") and not item.get("recurringEventId"))
        next_page = data.get("nextPageToken")
        if next_page:
            return ChangePage(changes, _encode(page=next_page, sync=sync_token), done=False)
        next_sync = data.get("nextSyncToken")
        return ChangePage(changes, _encode(sync=next_sync) if next_sync else None, done=True)

    # ------------------------------------------------------------------ writes
    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        body = _outgoing(record, patch=False)
        body.setdefault("extendedProperties", {}).setdefault("private", {})[HUB_ID_KEY] = str(hub_id)
        event_id = _event_id(hub_id)
        if event_id:
            body["id"] = event_id
        # With our own id a repeated insert is harmless (409), so the client may retry it.
        response = client.request("POST", _events_path(container), json=body, idempotent=bool(event_id))
        if response.status == 409 and event_id:
            # Created by an earlier attempt (or deleted since by the user): make it the record again.
            revive = {k: v for k, v in _outgoing(record, patch=True).items() if k != "id"}
            revive["status"] = "confirmed"
            revive.setdefault("extendedProperties", {}).setdefault("private", {})[HUB_ID_KEY] = str(hub_id)
            response = client.request("PATCH", _event_path(container, event_id), json=revive, idempotent=True)
        if not response.ok:
            raise GoogleCalendarError("event create", response)
        return _change(response.data if isinstance(response.data, dict) else {})

    def push_update(
        self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
        version: str | None,
    ) -> RemoteChange:
        headers = {"If-Match": version} if version else {}
        response = client.request("PATCH", _event_path(container, remote_id), json=_outgoing(record, patch=True),
                                  headers=headers, idempotent=True)
        if response.status == 412:
            raise VersionConflict(f"event {remote_id} changed in Google Calendar since it was read")
        if not response.ok:
            raise GoogleCalendarError("event update", response)
        return _change(response.data if isinstance(response.data, dict) else {})

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        headers = {"If-Match": version} if version else {}
        response = client.request("DELETE", _event_path(container, remote_id), headers=headers)
        if response.status == 412:
            raise VersionConflict(f"event {remote_id} changed in Google Calendar since it was read")
        if response.ok or response.status in (404, 410):  # already gone: what we wanted
            return
        raise GoogleCalendarError("event delete", response)

    # ------------------------------------------------------------------ push (realtime import)
    def watch(self, client: Caller, *, container: str, address: str, token: str, channel_id: str) -> Watch:
        """``events.watch``: a web_hook channel with our id and token; Google answers the
        Channel with ``resourceId`` and ``expiration`` (ms since the epoch, as a string).
        https://developers.google.com/calendar/api/v3/reference/events/watch"""
        body = {"id": channel_id, "type": "web_hook", "address": address, "token": token,
                "params": {"ttl": str(CHANNEL_TTL)}}
        response = client.request("POST", f"{_events_path(container)}/watch", json=body)
        if not response.ok:
            raise GoogleCalendarError("watch", response)
        data = response.data if isinstance(response.data, dict) else {}
        return channel_watch(data, channel_id, CHANNEL_TTL)

    def stop(self, client: Caller, *, channel_id: str, resource_id: str) -> None:
        """``channels.stop``; a channel Google no longer has (404) is stopped already.
        https://developers.google.com/calendar/api/v3/reference/channels/stop"""
        response = client.request("POST", f"{API}/channels/stop", json={"id": channel_id, "resourceId": resource_id})
        if not (response.ok or response.status == 404):
            raise GoogleCalendarError("channel stop", response)

    # ------------------------------------------------------------------ mappings
    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        if remote_type != "event":
            return []
        if local_type == "meeting":
            return copy.deepcopy(GOOGLE_CALENDAR_MAPPING)
        if local_type == "task":
            return copy.deepcopy(TASK_EVENT_MAPPING)
        return []


# ---------------------------------------------------------------------- helpers
def _events_path(calendar_id: str) -> str:
    return f"{API}/calendars/{quote(calendar_id, safe='')}/events"


def _event_path(calendar_id: str, event_id: str) -> str:
    return f"{_events_path(calendar_id)}/{quote(event_id, safe='')}"


def _event_id(hub_id: str) -> str | None:
    """A base32hex event id derived from the hub's UUID (hex digits are base32hex digits)."""
    try:
        return "as" + uuid.UUID(str(hub_id)).hex
    except ValueError:
        return None


def _encode(*, page: str | None = None, sync: str | None = None) -> str:
    return json.dumps({k: v for k, v in (("page", page), ("sync", sync)) if v}, separators=(",", ":"), sort_keys=True)


def _decode(cursor: str | None) -> tuple[str | None, str | None]:
    """(page token, sync token) of a cursor this module wrote; anything else is CursorInvalid."""
    if not cursor:
        return None, None
    try:
        data = json.loads(cursor)
    except ValueError:
        raise CursorInvalid("not a Google Calendar cursor") from None
    if (not isinstance(data, dict) or not data or set(data) - {"page", "sync"}
            or not all(isinstance(v, str) and v for v in data.values())):
        raise CursorInvalid("not a Google Calendar cursor")
    return data.get("page"), data.get("sync")


def _change(item: Mapping[str, Any]) -> RemoteChange:
    private = ((item.get("extendedProperties") or {}).get("private") or {})
    hub_id = private.get(HUB_ID_KEY)
    return RemoteChange(
        remote_id=str(item.get("id") or ""),
        deleted=item.get("status") == "cancelled",
        version=item.get("etag"),
        raw=item,
        modified_at=instant(item.get("updated")),
        hub_id=hub_id if isinstance(hub_id, str) and hub_id else None,
    )


def _outgoing(record: Mapping[str, Any], *, patch: bool) -> dict[str, Any]:
    """The mapped record as Google takes it (see the module docstring)."""
    body = copy.deepcopy(dict(record))
    attendees = body.get("attendees")
    if isinstance(attendees, list):
        body["attendees"] = [{"email": a} if isinstance(a, str) else a for a in attendees
                             if (isinstance(a, str) and a) or isinstance(a, dict)]
    start, end = body.get("start"), body.get("end")
    if isinstance(start, dict) and start.get("date"):
        first = _date(start["date"])
        if first is not None and (not isinstance(end, dict) or not end.get("dateTime")):
            last = _date(end.get("date")) if isinstance(end, dict) else None
            if last is None or last <= first:
                body["end"] = end = {**(end if isinstance(end, dict) else {}), "date": (first + timedelta(days=1)).isoformat()}
    if patch:  # patch merges nested objects: clear the form not sent
        for side in (start, end):
            if isinstance(side, dict):
                if side.get("date") and "dateTime" not in side:
                    side["dateTime"] = None
                elif side.get("dateTime") and "date" not in side:
                    side["date"] = None
    return body


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _reason(response: Answer) -> str | None:
    data = response.data if isinstance(response.data, dict) else {}
    errors = (data.get("error") or {}).get("errors") if isinstance(data.get("error"), dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        reason = errors[0].get("reason")
        return str(reason)[:60] if reason else None
    return None
