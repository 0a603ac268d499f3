"""Apple Calendar's adapter: CalDAV (RFC 4791) with HTTP Basic (Apple ID + app-specific
password). The test call is a Depth-0 PROPFIND of the server root, answered 207 Multi-Status.

Sync, every call through the ``client`` (``ProviderClient``: rate limit, deadline, size cap,
private-address check of the tenant's server URL); request bodies are built with the
``caldav`` library's element classes and answers parsed with lxml (entities off), events
with ``icalendar`` (vevent.py). The ``caldav`` library never opens a connection here.

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
- ``push_create``: PUT ``<calendar>/<new uuid>.ics`` with ``If-None-Match: *`` (UID = that
  uuid, X-ARCHITECT-STUDIO-ID = the hub id). ``push_update``: GET the object, write the
  record's keys over its VEVENT (SEQUENCE + 1, the rest kept), PUT with ``If-Match`` =
  ``version`` (412 -> ``VersionConflict``). ``push_delete``: DELETE with ``If-Match``; an
  object already gone is fine.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from caldav.elements import cdav, dav, ical
from caldav.elements.base import BaseElement
from lxml import etree

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

from . import vevent

CALDAV_PROPFIND = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>'
)
XML = {"Content-Type": "application/xml; charset=utf-8", "Accept": "application/xml, text/xml"}
ICS = "text/calendar; charset=utf-8"
_REDIRECTS = (301, 302, 307, 308)
# Untrusted XML from a tenant-chosen server: no entity expansion, no network, no huge trees.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)


class CalDAVError(Exception):
    """The CalDAV server answered something this adapter cannot use (status and step only:
    no body, no credentials)."""

    def __init__(self, step: str, status: int | None = None):
        super().__init__(f"CalDAV {step}" + (f": HTTP {status}" if status is not None else ""))
        self.status = status


class AppleCalendarAdapter(ProviderAdapter):
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
        rows = [("title", "summary", None), ("description", "description", None),
                ("startTime", "start.dateTime", "date_format"), ("endTime", "end.dateTime", "date_format"),
                ("location", "location", None), ("attendees", "attendees[].email", None)]
        return [{"localEntity": "meeting", "localField": local, "remoteField": remote,
                 **({"transform": transform} if transform else {})} for local, remote, transform in rows]

    # ------------------------------------------------------------------ discovery
    def list_containers(self, client: Caller) -> list[Container]:
        root = client.base_url + "/"
        found, url = _propfind(client, root, [dav.CurrentUserPrincipal()], depth=0, step="principal")
        principal = _href_in(_first(found), dav.CurrentUserPrincipal.tag)
        if principal is None:
            raise CalDAVError("principal: no current-user-principal (are the credentials right?)")
        found, url = _propfind(client, urljoin(url, principal), [cdav.CalendarHomeSet()], depth=0, step="home")
        home = _href_in(_first(found), cdav.CalendarHomeSet.tag)
        if home is None:
            raise CalDAVError("home: no calendar-home-set")
        props = [dav.ResourceType(), dav.DisplayName(), ical.CalendarColor(), ical.CalendarOrder(),
                 cdav.SupportedCalendarComponentSet()]
        found, url = _propfind(client, urljoin(url, home), props, depth=1, step="calendars")
        calendars = [c for c in (_calendar(client, url, m) for m in found) if c is not None]
        if calendars:
            first = min(range(len(calendars)), key=lambda i: (calendars[i].raw["order"] is None,
                                                              calendars[i].raw["order"] or 0, i))
            calendars[first] = Container(calendars[first].id, calendars[first].name, True, calendars[first].raw)
        return calendars

    # ------------------------------------------------------------------ import
    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        state = _Cursor.load(cursor)
        calendar = _absolute(client, container)
        deleted: tuple[RemoteChange, ...] = ()
        if not state.pending:
            state, removed = _sync_collection(client, calendar, state.token)
            deleted = tuple(RemoteChange(remote_id=href, deleted=True) for href in removed)
        batch, rest = state.pending[: self.batch_size], state.pending[self.batch_size:]
        changes = deleted + _multiget(client, calendar, [_expand(calendar, h) for h in batch])
        after = _Cursor(state.token, rest, state.more)
        return ChangePage(changes=changes, cursor=after.dump(), done=not rest and not state.more)

    # ------------------------------------------------------------------ export
    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        calendar = _absolute(client, container)
        uid = str(uuid.uuid4())
        url = urljoin(calendar.rstrip("/") + "/", f"{uid}.ics")
        href = _object_ref(calendar, url)
        body = vevent.new_calendar(record, uid=uid, hub_id=hub_id)
        answer = client.request("PUT", url, data=body.to_ical(), headers={"Content-Type": ICS, "If-None-Match": "*"})
        # 412 on a fresh uuid: our own first attempt was stored before a retried 5xx.
        if not (answer.ok or answer.status == 412):
            raise CalDAVError("create", answer.status)
        etag = _header(answer, "ETag") if answer.ok else None
        return _change(href, etag or _etag(client, url), body)

    def push_update(
        self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
        version: str | None,
    ) -> RemoteChange:
        url = urljoin(_absolute(client, container), remote_id)
        current = client.request("GET", url, headers={"Accept": "text/calendar"})
        if current.status == 404:
            raise VersionConflict(f"{remote_id} was deleted at the provider")
        if not current.ok:
            raise CalDAVError("read before update", current.status)
        body = vevent.parse(current.text)
        vevent.update_calendar(body, record)
        condition = version or _header(current, "ETag")
        headers = {"Content-Type": ICS, **({"If-Match": condition} if condition else {})}
        answer = client.request("PUT", url, data=body.to_ical(), headers=headers)
        if answer.status == 412:
            raise VersionConflict(f"{remote_id} changed since version {version}")
        if not answer.ok:
            raise CalDAVError("update", answer.status)
        return _change(remote_id, _header(answer, "ETag") or _etag(client, url), body)

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        url = urljoin(_absolute(client, container), remote_id)
        answer = client.request("DELETE", url, headers={"If-Match": version} if version else {})
        if answer.ok or answer.status == 404:
            return
        if answer.status == 412:
            # If-Match also fails on an object that is gone (RFC 9110 §13.1.1): only a live one conflicts.
            if client.request("GET", url, headers={"Accept": "text/calendar"}).status == 404:
                return
            raise VersionConflict(f"{remote_id} changed since version {version}")
        raise CalDAVError("delete", answer.status)


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
    answer = client.request("REPORT", calendar, data=_xml(report), headers={**XML, "Depth": "1"})
    if answer.status in (403, 409) and "valid-sync-token" in answer.text:
        raise CursorInvalid("the CalDAV server no longer accepts this sync-token")
    if answer.status != 207:
        raise CalDAVError("sync-collection", answer.status)
    root = _tree(answer)
    new_token = (root.findtext(dav.SyncToken.tag) or "").strip()
    if not new_token:
        raise CalDAVError("sync-collection: no sync-token in the answer (RFC 6578 unsupported)")
    changed, removed, truncated = [], [], False
    own = urlsplit(calendar).path.rstrip("/")
    for member in _members(root):
        if urlsplit(urljoin(calendar, member.href)).path.rstrip("/") == own:
            truncated = truncated or member.status == 507
            continue
        if member.href.endswith("/"):
            continue  # a sub-collection, not a calendar object
        ref = _object_ref(calendar, member.href)
        (removed if member.status == 404 else changed).append(ref)
    return _Cursor(new_token, [_shorten(calendar, h) for h in changed], truncated), removed


def _multiget(client: Caller, calendar: str, hrefs: list[str]) -> tuple[RemoteChange, ...]:
    """RFC 4791 §7.9: ETags and calendar data of ``hrefs``, in their order."""
    if not hrefs:
        return ()
    report = cdav.CalendarMultiGet() + [dav.Prop() + [dav.GetEtag(), cdav.CalendarData()]]
    report += [dav.Href(value=h) for h in hrefs]
    answer = client.request("REPORT", calendar, data=_xml(report), headers={**XML, "Depth": "1"})
    if answer.status != 207:
        raise CalDAVError("calendar-multiget", answer.status)
    by_href = {_same(m.href): m for m in _members(_tree(answer))}
    changes = []
    for href in hrefs:
        member = by_href.get(_same(href))
        data = member.props.get(cdav.CalendarData.tag) if member else None
        if member is None or member.status == 404 or data is None:
            changes.append(RemoteChange(remote_id=href, deleted=True))  # removed since the listing
            continue
        etag = member.props.get(dav.GetEtag.tag)
        body = vevent.parse(data.text or "")
        if vevent.master(body) is not None:
            changes.append(_change(href, etag.text if etag is not None else None, body))
    return tuple(changes)


def _change(href: str, etag: str | None, body: Any) -> RemoteChange:
    event = vevent.master(body)
    return RemoteChange(remote_id=href, deleted=False, version=etag, raw=vevent.to_record(event),
                        modified_at=vevent.modified_at(event), hub_id=vevent.hub_id(event))


def _etag(client: Caller, url: str) -> str | None:
    """The ETag of one object, for servers that send none after a PUT (RFC 4791 §5.3.4)."""
    found, _ = _propfind(client, url, [dav.GetEtag()], depth=0, step="etag")
    etag = _first(found).props.get(dav.GetEtag.tag) if found else None
    return etag.text if etag is not None else None


# ---------------------------------------------------------------------- PROPFIND and XML
@dataclass
class _Member:
    """One ``DAV:response`` of a multistatus: its href, its own status (404 for a removed
    member) and the properties answered 2xx."""

    href: str
    status: int | None
    props: dict[str, Any]


def _propfind(client: Caller, url: str, props: list[BaseElement], *, depth: int,
              step: str) -> tuple[list[_Member], str]:
    """PROPFIND ``url`` (following up to three redirects, as iCloud sends to the account's
    host); returns the members and the URL that answered (hrefs resolve against it)."""
    body = _xml(dav.Propfind() + [dav.Prop() + props])
    for _ in range(4):
        answer = client.request("PROPFIND", url, data=body, headers={**XML, "Depth": str(depth)})
        location = _header(answer, "Location")
        if answer.status in _REDIRECTS and location:
            url = urljoin(url, location)
            continue
        if answer.status != 207:
            raise CalDAVError(step, answer.status)
        return _members(_tree(answer)), url
    raise CalDAVError(f"{step}: too many redirects")


def _calendar(client: Caller, home_url: str, member: _Member) -> Container | None:
    kind = member.props.get(dav.ResourceType.tag)
    if kind is None or kind.find(cdav.Calendar.tag) is None:
        return None
    components = member.props.get(cdav.SupportedCalendarComponentSet.tag)
    names = [c.get("name") for c in components] if components is not None else None
    if names is not None and "VEVENT" not in names:
        return None  # RFC 4791 §5.2.3: absent means every component type
    url = urljoin(home_url, member.href)
    name = _text(member.props.get(dav.DisplayName.tag)) or unquote(url.rstrip("/").rsplit("/", 1)[-1])
    order = _text(member.props.get(ical.CalendarOrder.tag))
    raw = {"color": _text(member.props.get(ical.CalendarColor.tag)),
           "order": int(order) if order and order.lstrip("-").isdigit() else None,
           "components": names}
    return Container(id=_container_ref(client, url), name=name, raw=raw)


def _xml(element: BaseElement) -> bytes:
    return etree.tostring(element.xmlelement(), encoding="utf-8", xml_declaration=True)


def _tree(answer: Answer) -> Any:
    try:
        return etree.fromstring(_body(answer), _PARSER)
    except etree.XMLSyntaxError:
        raise CalDAVError("the answer is not XML") from None


def _members(root: Any) -> list[_Member]:
    members = []
    for response in root.iter(dav.Response.tag):
        href = (response.findtext(dav.Href.tag) or "").strip()
        if not href:
            continue
        props: dict[str, Any] = {}
        for propstat in response.findall(dav.PropStat.tag):
            if (_status(propstat.findtext(dav.Status.tag)) or 200) // 100 != 2:
                continue
            for prop in propstat.findall(dav.Prop.tag):
                props.update((p.tag, p) for p in prop)
        members.append(_Member(href, _status(response.findtext(dav.Status.tag)), props))
    return members


def _first(members: list[_Member]) -> _Member:
    if not members:
        raise CalDAVError("an empty multistatus")
    return members[0]


def _href_in(member: _Member, tag: str) -> str | None:
    prop = member.props.get(tag)
    href = prop.findtext(dav.Href.tag) if prop is not None else None
    return href.strip() if href else None


def _status(line: str | None) -> int | None:
    """``HTTP/1.1 404 Not Found`` -> 404."""
    match = re.match(r"\s*HTTP/\S+\s+(\d{3})", line or "")
    return int(match.group(1)) if match else None


def _text(element: Any) -> str | None:
    return element.text.strip() if element is not None and element.text and element.text.strip() else None


def _header(answer: Answer, name: str) -> str | None:
    headers = getattr(answer, "headers", None) or {}
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def _body(answer: Answer) -> bytes:
    """The answer's bytes again: ``ApiResponse.text`` was decoded by requests with the
    Content-Type charset, ISO-8859-1 for a text/* type without one, else a guess; encoding
    back with the same charset restores the bytes lxml needs for the XML declaration."""
    content_type = _header(answer, "Content-Type") or ""
    match = re.search(r"charset=\"?([\w.:-]+)", content_type, re.I)
    charset = match.group(1) if match else ("iso-8859-1" if "text" in content_type.lower() else "utf-8")
    try:
        return answer.text.encode(charset)
    except (LookupError, UnicodeEncodeError):
        return answer.text.encode("utf-8")


# ---------------------------------------------------------------------- hrefs and URLs
def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _absolute(client: Caller, ref: str) -> str:
    """A container id (a path on the server URL's host, or a whole URL) as a URL."""
    if urlsplit(ref).scheme:
        return ref
    return urljoin(_origin(client.base_url) + "/", ref)


def _container_ref(client: Caller, url: str) -> str:
    return _path(url) if _origin(url) == _origin(client.base_url) else url


def _object_ref(calendar: str, href: str) -> str:
    """An object's href as its remote id: the path on the calendar's host (the form sync-collection
    answers), or the whole URL if it lives elsewhere."""
    url = urljoin(calendar, href)
    return _path(url) if _origin(url) == _origin(calendar) else url


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _shorten(calendar: str, ref: str) -> str:
    """A pending href relative to its calendar, to keep the stored cursor small."""
    prefix = _path(calendar).rstrip("/") + "/"
    return ref[len(prefix):] if ref.startswith(prefix) else ref


def _expand(calendar: str, stored: str) -> str:
    if stored.startswith("/") or urlsplit(stored).scheme:
        return stored
    return _path(calendar).rstrip("/") + "/" + stored


def _same(href: str) -> str:
    """Compare hrefs whatever the percent-encoding or host form the server chose."""
    return unquote(urlsplit(href).path)
