"""The parts of an incoming HTTP request that a sender's signature can cover.

Pure (no Django): the endpoint builds an :class:`InboundRequest` from the raw
request, and every verification scheme reads only this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def get_header(headers: Mapping[str, str], name: str) -> str | None:
    """Return header ``name`` from ``headers`` ignoring case, or ``None``.

    HTTP header names are case-insensitive, but plain dicts (tests, WSGI
    environ conversions, stored logs) are not; every lookup of the schemes
    goes through here so callers may pass any mapping.
    """
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, candidate in headers.items():
        if isinstance(key, str) and key.lower() == wanted:
            return candidate
    return None


def parse_form_body(body: bytes) -> dict[str, str | list[str]]:
    """Parse an ``application/x-www-form-urlencoded`` body.

    Single values come back as ``str`` and repeated keys as ``list[str]``
    (the shape of :attr:`InboundRequest.form`). Blank values are kept because
    Twilio signs them too. A body that is not valid UTF-8 yields ``{}``.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    parsed = parse_qs(text, keep_blank_values=True)
    return {key: values[0] if len(values) == 1 else values for key, values in parsed.items()}


@dataclass
class InboundRequest:
    """The parts of an incoming HTTP request that signatures can cover.

    ``url`` must be the public URL the sender called - ``PUBLIC_BASE_URL`` +
    path, plus ``?query`` if any - not the URL as seen behind a proxy,
    because Twilio and HubSpot sign it. ``query`` and ``form`` hold decoded
    parameters (``form`` only for form-encoded bodies; when left empty it is
    parsed from ``body`` on demand).
    """

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str | list[str]] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """Return a header value by case-insensitive name, or ``None``."""
        return get_header(self.headers, name)

    @property
    def content_type(self) -> str:
        """Media type of the body, lower-cased, without parameters ("" if absent)."""
        raw = self.header("Content-Type") or ""
        return raw.split(";", 1)[0].strip().lower()

    def query_param(self, name: str) -> str | None:
        """Return a decoded query parameter, from ``query`` or else from ``url``."""
        if name in self.query:
            return self.query[name]
        try:
            values = parse_qs(urlsplit(self.url).query, keep_blank_values=True).get(name)
        except ValueError:
            return None
        return values[0] if values else None

    def form_params(self) -> dict[str, list[str]]:
        """Return form parameters as lists, parsing the body if ``form`` is empty."""
        source: Mapping[str, str | list[str]] = self.form
        if not source and self.content_type == FORM_CONTENT_TYPE:
            source = parse_form_body(self.body)
        return {key: [value] if isinstance(value, str) else list(value) for key, value in source.items()}
