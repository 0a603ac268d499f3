"""WebDAV plumbing for the Apple Calendar adapter: PROPFIND through the provider client,
multistatus answers parsed with lxml (entities off: the server is typed by the tenant), and
the href forms (paths on the server URL's host, or whole URLs on another host, as iCloud's
calendar home is)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from caldav.elements import dav
from caldav.elements.base import BaseElement
from lxml import etree

from integrations.providers.adapter import Answer, Caller

XML = {"Content-Type": "application/xml; charset=utf-8", "Accept": "application/xml, text/xml"}
_REDIRECTS = (301, 302, 307, 308)
# Untrusted XML from a tenant-chosen server: no entity expansion, no network, no huge trees.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)


class CalDAVError(Exception):
    """The CalDAV server answered something this adapter cannot use (status and step only:
    no body, no credentials)."""

    def __init__(self, step: str, status: int | None = None):
        super().__init__(f"CalDAV {step}" + (f": HTTP {status}" if status is not None else ""))
        self.status = status


# ---------------------------------------------------------------------- PROPFIND and XML
@dataclass
class Member:
    """One ``DAV:response`` of a multistatus: its href, its own status (404 for a removed
    member) and the properties answered 2xx."""

    href: str
    status: int | None
    props: dict[str, Any]


def propfind(client: Caller, url: str, props: list[BaseElement], *, depth: int,
             step: str) -> tuple[list[Member], str]:
    """PROPFIND ``url`` (following up to three redirects, as iCloud sends to the account's
    host); returns the members and the URL that answered (hrefs resolve against it)."""
    request = xml(dav.Propfind() + [dav.Prop() + props])
    for _ in range(4):
        answer = client.request("PROPFIND", url, data=request, headers={**XML, "Depth": str(depth)})
        location = header(answer, "Location")
        if answer.status in _REDIRECTS and location:
            url = urljoin(url, location)
            continue
        if answer.status != 207:
            raise CalDAVError(step, answer.status)
        return members(tree(answer)), url
    raise CalDAVError(f"{step}: too many redirects")


def xml(element: BaseElement) -> bytes:
    return etree.tostring(element.xmlelement(), encoding="utf-8", xml_declaration=True)


def tree(answer: Answer) -> Any:
    try:
        return etree.fromstring(body(answer), _PARSER)
    except etree.XMLSyntaxError:
        raise CalDAVError("the answer is not XML") from None


def members(root: Any) -> list[Member]:
    found = []
    for response in root.iter(dav.Response.tag):
        href = (response.findtext(dav.Href.tag) or "").strip()
        if not href:
            continue
        props: dict[str, Any] = {}
        for propstat in response.findall(dav.PropStat.tag):
            if (status(propstat.findtext(dav.Status.tag)) or 200) // 100 != 2:
                continue
            for prop in propstat.findall(dav.Prop.tag):
                props.update((p.tag, p) for p in prop)
        found.append(Member(href, status(response.findtext(dav.Status.tag)), props))
    return found


def first(found: list[Member]) -> Member:
    if not found:
        raise CalDAVError("an empty multistatus")
    return found[0]


def href_in(member: Member, tag: str) -> str | None:
    prop = member.props.get(tag)
    href = prop.findtext(dav.Href.tag) if prop is not None else None
    return href.strip() if href else None


def status(line: str | None) -> int | None:
    """``HTTP/1.1 404 Not Found`` -> 404."""
    match = re.match(r"\s*HTTP/\S+\s+(\d{3})", line or "")
    return int(match.group(1)) if match else None


def text(element: Any) -> str | None:
    return element.text.strip() if element is not None and element.text and element.text.strip() else None


def header(answer: Answer, name: str) -> str | None:
    headers = getattr(answer, "headers", None) or {}
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def body(answer: Answer) -> bytes:
    """The answer's bytes again: ``ApiResponse.text`` was decoded by requests with the
    Content-Type charset, ISO-8859-1 for a text/* type without one, else a guess; encoding
    back with the same charset restores the bytes lxml needs for the XML declaration."""
    content_type = header(answer, "Content-Type") or ""
    match = re.search(r"charset=\"?([\w.:-]+)", content_type, re.I)
    charset = match.group(1) if match else ("iso-8859-1" if "text" in content_type.lower() else "utf-8")
    try:
        return answer.text.encode(charset)
    except (LookupError, UnicodeEncodeError):
        return answer.text.encode("utf-8")


# ---------------------------------------------------------------------- hrefs and URLs
def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def absolute(client: Caller, ref: str) -> str:
    """A container id (a path on the server URL's host, or a whole URL) as a URL."""
    if urlsplit(ref).scheme:
        return ref
    return urljoin(origin(client.base_url) + "/", ref)


def container_ref(client: Caller, url: str) -> str:
    return path(url) if origin(url) == origin(client.base_url) else url


def object_ref(calendar: str, href: str) -> str:
    """An object's href as its remote id: the path on the calendar's host (the form sync-collection
    answers), or the whole URL if it lives elsewhere."""
    url = urljoin(calendar, href)
    return path(url) if origin(url) == origin(calendar) else url


def path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def shorten(calendar: str, ref: str) -> str:
    """A pending href relative to its calendar, to keep the stored cursor small."""
    prefix = path(calendar).rstrip("/") + "/"
    return ref[len(prefix):] if ref.startswith(prefix) else ref


def expand(calendar: str, stored: str) -> str:
    if stored.startswith("/") or urlsplit(stored).scheme:
        return stored
    return path(calendar).rstrip("/") + "/" + stored


def same(href: str) -> str:
    """Compare hrefs whatever the percent-encoding or host form the server chose."""
    return unquote(urlsplit(href).path)
