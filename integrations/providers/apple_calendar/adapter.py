"""Apple Calendar's adapter: CalDAV (RFC 4791) with HTTP Basic (Apple ID + app-specific
password). The test call is a Depth-0 PROPFIND of the server root, answered 207 Multi-Status.

Sync, every call through the ``client`` (``ProviderClient``: rate limit, deadline, size cap,
private-address check of the tenant's server URL); request bodies are built with the
``caldav`` library's element classes, answers parsed with lxml, entities off (webdav.py),
events with ``icalendar`` (vevent.py). The ``caldav`` library never opens a connection here.

- ``list_containers``: PROPFIND ``current-user-principal`` -> its ``calendar-home-set`` ->
  Depth-1 PROPFIND of the home: the calendars whose ``supported-calendar-component-set``
  includes VEVENT, with ``displayname`` and Apple's ``calendar-color``. ``Container.id`` is
  the calendar's path, or its whole URL when the home lives on another host (iCloud
  answers ``https://pNN-caldav.icloud.com/...``). The primary is the lowest Apple
  ``calendar-order``, else the first listed (CalDAV has no "primary" calendar).
- ``list_changes``: RFC 6578 REPORT ``sync-collection`` from the stored token (an empty
  one for a full listing); members answered 404 are deleted; the changed hrefs are read
  with ``calendar-multiget`` in batches of ``batch_size``, one batch per page. The
  cursor is a JSON string ``{"token": <DAV:sync-token>, "pending"?: [hrefs still to
  read, relative to the calendar], "more"?: true}`` (``more``: the server truncated the
  listing with 507, RFC 6578 §3.6; the next page asks again from the new token). A token
  the server refuses (403/409 with the ``DAV:valid-sync-token`` precondition) or a
  cursor this adapter did not write raises ``CursorInvalid``.
- ``RemoteChange``: ``remote_id`` = the object's href (path), ``version`` = its ETag,
  ``raw`` = the record dict documented in vevent.py (``{uid, summary, description,
  location, start: {dateTime|date}, end, attendees: [{email}], status, recurrence,
  sequence, lastModified}``), ``modified_at`` = LAST-MODIFIED (else DTSTAMP), ``hub_id``
  = X-ARCHITECT-STUDIO-ID. Objects without a VEVENT (tasks) are skipped.
- ``push_create``: PUT ``<calendar>/<uid>.ics`` with ``If-None-Match: *`` (UID = a uuid
  derived from the calendar and the hub id, ``object_uid``; X-ARCHITECT-STUDIO-ID = the hub
  id). A 412 there is the hub's own earlier create of the record (a retry, or a re-connect
  that lost the link): that object is updated instead of a copy made. ``push_update``: GET the object, write the
  record's keys over its VEVENT (SEQUENCE + 1, the rest kept), PUT with ``If-Match`` =
  ``version`` (412 -> ``VersionConflict``). ``push_delete``: DELETE with ``If-Match``; an
  object already gone is fine.
"""

from __future__ import annotations

import copy
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from caldav.elements import cdav, dav, ical

from integrations.providers._calendar import DEFAULT_CALENDAR_MAPPING, CalendarSettings
from integrations.providers.adapter import (
    Answer,
    Caller,
    ChangePage,
    Container,
    CursorInvalid,
    ProviderAdapter,
    RemoteChange,
    TestCall,
    VersionConflict,
    basic,
)

from . import vevent, webdav
from .webdav import CalDAVError

CALDAV_PROPFIND = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>'
)
ICS = "text/calendar; charset=utf-8"
#: The namespace of the UIDs the hub gives the objects it creates (object_uid).
UID_NAMESPACE = uuid.UUID("5b0c3a52-8f5e-4d2b-9a0e-6f1d2c7b4e91")
log = logging.getLogger("architect_studio.integrations")


class AppleCalendarAdapter(CalendarSettings, ProviderAdapter):
    #: Objects read per calendar-multiget, i.e. per page of ``list_changes``.
    batch_size = 100

    # ------------------------------------------------------------------ connecting
    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": basic(values.get("username", ""), values.get("appPassword", ""))}

    def test_call(self, values: Mapping[str, Any]) -> TestCall | None:
        call = super().test_call(values)
        if call is None:
            return None
        # PROPFIND the server root (or the configured server URL): path "".
        return TestCall(call.method, "", {
            "data": CALDAV_PROPFIND,
            "headers": {"Depth": "0", "Content-Type": "application/xml; charset=utf-8"},
        })

    def test_ok(self, response: Answer) -> bool:
        return response.status == 207

    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        """The seed's GOOGLE_CALENDAR_MAPPING over the record dict (vevent.py)."""
        if local_type != "meeting" or remote_type.lower() not in ("vevent", "event"):
            return []
        return copy.deepcopy(DEFAULT_CALENDAR_MAPPING)

    # ------------------------------------------------------------------ discovery
    def list_containers(self, client: Caller) -> list[Container]:
        root = client.base_url + "/"
        found, url = webdav.propfind(client, root, [dav.CurrentUserPrincipal()], depth=0, step="principal")
        principal = webdav.href_in(webdav.first(found), dav.CurrentUserPrincipal.tag)
        if principal is None:
            raise CalDAVError("principal: no current-user-principal (are the credentials right?)")
        found, url = webdav.propfind(client, urljoin(url, principal), [cdav.CalendarHomeSet()], depth=0, step="home")
        home = webdav.href_in(webdav.first(found), cdav.CalendarHomeSet.tag)
        if home is None:
            raise CalDAVError("home: no calendar-home-set")
        props = [dav.ResourceType(), dav.DisplayName(), ical.CalendarColor(), ical.CalendarOrder(),
                 cdav.SupportedCalendarComponentSet()]
        found, url = webdav.propfind(client, urljoin(url, home), props, depth=1, step="calendars")
        calendars = [c for c in (_calendar(client, url, m) for m in found) if c is not None]
        if calendars:
            orders = [c.raw["order"] for c in calendars]
            first = min(range(len(calendars)), key=lambda i: (orders[i] is None, orders[i] or 0, i))
            calendars[first] = replace(calendars[first], primary=True)
        return calendars

    # ------------------------------------------------------------------ import
    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        state = _Cursor.load(cursor)
        calendar = webdav.absolute(client, container)
        deleted: tuple[RemoteChange, ...] = ()
        if not state.pending:
            state, removed = _sync_collection(client, calendar, state.token)
            deleted = tuple(RemoteChange(remote_id=href, deleted=True) for href in removed)
        batch, rest = state.pending[: self.batch_size], state.pending[self.batch_size:]
        changes = deleted + _multiget(client, calendar, [webdav.expand(calendar, h) for h in batch])
        after = _Cursor(state.token, rest, state.more)
        return ChangePage(changes=changes, cursor=after.dump(), done=not rest and not state.more)

    # ------------------------------------------------------------------ export
    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        calendar = webdav.absolute(client, container)
        for uid in (object_uid(calendar, hub_id), str(uuid.uuid4())):
            url = urljoin(calendar.rstrip("/") + "/", f"{uid}.ics")
            href = webdav.object_ref(calendar, url)
            body = vevent.new_calendar(record, uid=uid, hub_id=hub_id)
            answer = client.request("PUT", url, data=body.to_ical(),
                                    headers={"Content-Type": ICS, "If-None-Match": "*"})
            if answer.ok:
                return _change(href, webdav.header(answer, "ETag") or _etag(client, url), body)
            if answer.status != 412:
                raise CalDAVError("create", answer.status)
            # 412: the name is taken. By the hub's own earlier create of this record (a retried
            # 5xx, or a re-connect that lost the link): that object is the record, updated.
            current = client.request("GET", url, headers={"Accept": "text/calendar"})
            if current.ok and _hub_id_of(current.text) == str(hub_id):
                return self.push_update(client, container=container, remote_id=href, record=record, version=None)
        raise CalDAVError("create", 412)

    def push_update(
        self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
        version: str | None,
    ) -> RemoteChange:
        url = urljoin(webdav.absolute(client, container), remote_id)
        current = client.request("GET", url, headers={"Accept": "text/calendar"})
        if current.status == 404:
            raise VersionConflict(f"{remote_id} was deleted at the provider")
        if not current.ok:
            raise CalDAVError("read before update", current.status)
        body = vevent.parse(current.text)
        vevent.update_calendar(body, record)
        condition = version or webdav.header(current, "ETag")
        headers = {"Content-Type": ICS, **({"If-Match": condition} if condition else {})}
        answer = client.request("PUT", url, data=body.to_ical(), headers=headers)
        if answer.status == 412:
            raise VersionConflict(f"{remote_id} changed since version {version}")
        if not answer.ok:
            raise CalDAVError("update", answer.status)
        return _change(remote_id, webdav.header(answer, "ETag") or _etag(client, url), body)

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        url = urljoin(webdav.absolute(client, container), remote_id)
        answer = client.request("DELETE", url, headers={"If-Match": version} if version else {})
        if answer.ok or answer.status == 404:
            return
        if answer.status == 412:
            # If-Match also fails on an object that is gone (RFC 9110 §13.1.1): only a live one conflicts.
            if client.request("GET", url, headers={"Accept": "text/calendar"}).status == 404:
                return
            raise VersionConflict(f"{remote_id} changed since version {version}")
        raise CalDAVError("delete", answer.status)


def _hub_id_of(text: str) -> str | None:
    try:
        event = vevent.master(vevent.parse(text))
    except ValueError:
        return None
    return vevent.hub_id(event) if event is not None else None


def object_uid(calendar: str, hub_id: str) -> str:
    """The UID (and file name) of the object the hub creates for a record: a uuid derived from
    the calendar and the hub id, so the same record created twice in one calendar (a retry,
    a re-connect whose links are gone) lands on the same object instead of a copy. Not the
    hub id itself: that is the X-ARCHITECT-STUDIO-ID property, and a record exported to two
    calendars of one account gets two UIDs."""
    return str(uuid.uuid5(UID_NAMESPACE, f"{calendar}\n{hub_id}"))


# ---------------------------------------------------------------------- the cursor
@dataclass(frozen=True)
class _Cursor:
    token: str = ""
    pending: list[str] = field(default_factory=list)
    more: bool = False

    @classmethod
    def load(cls, cursor: str | None) -> _Cursor:
        if cursor is None:
            return cls()
        try:
            data = json.loads(cursor)
            token, pending, more = data["token"], data.get("pending", []), data.get("more", False)
        except (ValueError, TypeError, KeyError):
            raise CursorInvalid("not a CalDAV sync cursor") from None
        if not (isinstance(token, str) and isinstance(pending, list) and all(isinstance(h, str) for h in pending)):
            raise CursorInvalid("not a CalDAV sync cursor")
        return cls(token, pending, bool(more))

    def dump(self) -> str:
        data: dict[str, Any] = {"token": self.token}
        if self.pending:
            data["pending"] = self.pending
        if self.more:
            data["more"] = True
        return json.dumps(data, separators=(",", ":"))


# ---------------------------------------------------------------------- REPORTs
def _sync_collection(client: Caller, calendar: str, token: str) -> tuple[_Cursor, list[str]]:
    """RFC 6578 §3.2: the members changed (to read) and removed since ``token``."""
    report = dav.SyncCollection() + [
        dav.SyncToken(value=token), dav.SyncLevel(value="1"), dav.Prop() + [dav.GetEtag()],
    ]
    answer = client.request("REPORT", calendar, data=webdav.xml(report), headers={**webdav.XML, "Depth": "1"})
    if answer.status in (403, 409) and "valid-sync-token" in answer.text:
        raise CursorInvalid("the CalDAV server no longer accepts this sync-token")
    if answer.status != 207:
        raise CalDAVError("sync-collection", answer.status)
    root = webdav.tree(answer)
    new_token = (root.findtext(dav.SyncToken.tag) or "").strip()
    if not new_token:
        raise CalDAVError("sync-collection: no sync-token in the answer (RFC 6578 unsupported)")
    changed, removed, truncated = [], [], False
    own = urlsplit(calendar).path.rstrip("/")
    for member in webdav.members(root):
        if urlsplit(urljoin(calendar, member.href)).path.rstrip("/") == own:
            truncated = truncated or member.status == 507
            continue
        if member.href.endswith("/"):
            continue  # a sub-collection, not a calendar object
        ref = webdav.object_ref(calendar, member.href)
        (removed if member.status == 404 else changed).append(ref)
    return _Cursor(new_token, [webdav.shorten(calendar, h) for h in changed], truncated), removed


def _multiget(client: Caller, calendar: str, hrefs: list[str]) -> tuple[RemoteChange, ...]:
    """RFC 4791 §7.9: ETags and calendar data of ``hrefs``, in their order."""
    if not hrefs:
        return ()
    report = cdav.CalendarMultiGet() + [dav.Prop() + [dav.GetEtag(), cdav.CalendarData()]]
    report += [dav.Href(value=h) for h in hrefs]
    answer = client.request("REPORT", calendar, data=webdav.xml(report), headers={**webdav.XML, "Depth": "1"})
    if answer.status != 207:
        raise CalDAVError("calendar-multiget", answer.status)
    by_href = {webdav.same(m.href): m for m in webdav.members(webdav.tree(answer))}
    changes = []
    for href in hrefs:
        member = by_href.get(webdav.same(href))
        data = member.props.get(cdav.CalendarData.tag) if member else None
        if member is None or member.status == 404 or data is None:
            changes.append(RemoteChange(remote_id=href, deleted=True))  # removed since the listing
            continue
        etag = member.props.get(dav.GetEtag.tag)
        try:
            body = vevent.parse(data.text or "")
            if vevent.master(body) is not None:  # else a task or a journal entry: not synced
                changes.append(_change(href, etag.text if etag is not None else None, body))
        except ValueError as exc:  # one unreadable object does not stop the others
            log.warning("caldav: skipped an unreadable calendar object %s: %s", href, exc)
    return tuple(changes)


def _change(href: str, etag: str | None, body: Any) -> RemoteChange:
    event = vevent.master(body)
    return RemoteChange(remote_id=href, deleted=False, version=etag, raw=vevent.to_record(event),
                        modified_at=vevent.modified_at(event), hub_id=vevent.hub_id(event))


def _etag(client: Caller, url: str) -> str | None:
    """The ETag of one object, for servers that send none after a PUT (RFC 4791 §5.3.4)."""
    found, _ = webdav.propfind(client, url, [dav.GetEtag()], depth=0, step="etag")
    etag = webdav.first(found).props.get(dav.GetEtag.tag) if found else None
    return etag.text if etag is not None else None


def _calendar(client: Caller, home_url: str, member: webdav.Member) -> Container | None:
    kind = member.props.get(dav.ResourceType.tag)
    if kind is None or kind.find(cdav.Calendar.tag) is None:
        return None
    components = member.props.get(cdav.SupportedCalendarComponentSet.tag)
    names = [c.get("name") for c in components] if components is not None else None
    if names is not None and "VEVENT" not in names:
        return None  # RFC 4791 §5.2.3: absent means every component type
    url = urljoin(home_url, member.href)
    name = webdav.text(member.props.get(dav.DisplayName.tag)) or unquote(url.rstrip("/").rsplit("/", 1)[-1])
    order = webdav.text(member.props.get(ical.CalendarOrder.tag))
    raw = {"color": webdav.text(member.props.get(ical.CalendarColor.tag)),
           "order": int(order) if order and order.lstrip("-").isdigit() else None,
           "components": names}
    return Container(id=webdav.container_ref(client, url), name=name, raw=raw)
