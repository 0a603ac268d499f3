"""The one module that sends HTTP requests to tenant-chosen URLs.

Long on purpose: one security boundary (address checks, pinning, caps, redaction, the
send itself) reads in one place, so a reviewer checks every outbound rule together.

Outgoing webhooks and ``forward`` actions send requests to URLs typed by
tenants (:func:`send`); the provider client (``integrations.client``) and the
OAuth token calls reach provider APIs and tenant-typed servers through the
same address checks, pinning (:class:`PinnedAdapter`), caps and deadlines
(:mod:`core.deadline`), and every log of them goes through the same header
redaction (:func:`redact_headers`). It sits in ``core`` so both apps use it
without one importing the other. Without care that is a server-side request forgery (SSRF) hole: a
tenant could point a webhook at the cloud metadata service, at the database,
or at an admin port on the private network, and read the answer in the
delivery log. DESIGN §5 "Outbound safety" therefore requires that every such
request goes through here, where:

* the URL is validated statically when it is saved (:func:`check_url`);
* at send time the host is resolved and **every** resolved address is checked
  (:func:`resolve_and_check`); link-local and metadata addresses are always
  refused, private/loopback ones unless ``allow_private`` (tests, local dev);
* the connection is made to the **checked IP** (pinned), so a DNS answer that
  changes between the check and the connect (DNS rebinding) cannot redirect
  us; the ``Host`` header, TLS SNI and certificate verification still use the
  hostname, so HTTPS works as normal;
* redirects are never followed (a 3xx is just a non-2xx result), proxies and
  netrc from the environment are ignored (either would bypass the pinning);
* the response is streamed and at most ``max_response_bytes`` are read, so a
  hostile receiver cannot exhaust memory;
* the whole request — DNS lookup, connect, TLS, sending, reading — ends within
  ``timeout`` seconds of wall-clock time (:mod:`core.deadline` shuts the
  socket down when it passes), so a receiver that drips a byte a second cannot
  hold a sender thread; and
* network problems never raise: they come back as an :class:`OutboundResult`
  with ``error`` / ``error_kind`` set, messages free of URLs and secrets.

No Django settings: the delivery task, the test-send view and the forward
action all call :func:`send` with their own settings. The only Django import is
the translation marker of :mod:`core.words`: every refusal and failure is kept as
words (msgid + params) beside its English text (``OutboundRefused.words``,
``OutboundResult.error_words``, ``DownloadFailed.words``), so a page says it in its
reader's language while logs and machines keep the English.

This module is long on purpose (~850 lines): address rules, URL checks, DNS, pinning, error
classification and reading are one security boundary; kept in one file, a
reviewer sees every way a tenant URL could escape it, and tests replace one
resolver (:func:`resolve_host`) for all of them. The deadline mechanism lives
apart (:mod:`core.deadline`).
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import re
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import SplitResult, urlsplit

import certifi
import requests
from django.utils.translation import gettext_noop as N_
from urllib3 import BaseHTTPResponse, HTTPConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import (
    SSLError as Urllib3SSLError,
)
from urllib3.util import Timeout as Urllib3Timeout
from urllib3.util.ssl_match_hostname import CertificateError as HostnameMismatchError

from core.deadline import (
    DeadlineAdapter,
    DeadlineHTTPConnectionPool,
    DeadlineHTTPSConnectionPool,
    DnsTimeout,
    ResponseTooLarge,
    deadline,
    resolve_bounded,
)
from core.deadline import current as current_deadline
from core.words import SaidError, Words, english, words

__all__ = [
    "MAX_URL_LENGTH",
    "USER_AGENT",
    "DeadlineAdapter",
    "ErrorKind",
    "HostResolutionError",
    "HostResolutionTimeout",
    "ResponseTooLarge",
    "OutboundRefused",
    "OutboundResult",
    "check_url",
    "deadline",
    "is_forbidden_address",
    "origin",
    "is_sensitive_header",
    "redact_headers",
    "resolve_and_check",
    "resolve_host",
    "send",
]

#: Identifies our webhook deliveries to receivers (and in their logs); the default of :func:`send`.
USER_AGENT: Final[str] = "ArchitectStudio-Webhooks/1.0"

#: URLs longer than this are refused at save time (browsers and servers
#: commonly cap around 2 KB; longer is almost certainly a mistake or abuse).
MAX_URL_LENGTH: Final[int] = 2048

ErrorKind = Literal["timeout", "connection", "refused", "tls"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata endpoints. Most sit in 169.254.0.0/16 (already link-local),
# the others are listed explicitly because they look like ordinary private
# or public addresses: AWS IPv6 IMDS/DNS, Alibaba Cloud, Oracle Cloud (legacy).
_METADATA_ADDRESSES: Final[frozenset[IPAddress]] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "169.254.170.23",
        "fd00:ec2::254",
        "fd00:ec2::23",
        "100.100.100.200",
        "192.0.0.192",
    )
)
# Hostnames that name a metadata service; refused at save time regardless of DNS.
_METADATA_HOSTNAMES: Final[frozenset[str]] = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)

_IPV4_LINK_LOCAL: Final = ipaddress.ip_network("169.254.0.0/16")
_IPV6_LINK_LOCAL: Final = ipaddress.ip_network("fe80::/10")
_IPV4_THIS_NETWORK: Final = ipaddress.ip_network("0.0.0.0/8")
_IPV4_CGNAT: Final = ipaddress.ip_network("100.64.0.0/10")
_IPV6_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")
_IPV6_ULA: Final = ipaddress.ip_network("fc00::/7")

# Legacy numeric IPv4 spellings (``127.1``, ``0x7f.0.0.1``, ``2130706433``)
# that resolvers accept; ``ipaddress`` does not, so we detect them ourselves.
_LEGACY_IPV4_RE: Final = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?", re.I)
_TOKEN_RE: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_HEADER_VALUE_RE: Final = re.compile(r"[\r\n\x00]")
_URL_FORBIDDEN_CHARS_RE: Final = re.compile(r"[\x00-\x20\x7f\\]")

_REDACTED: Final[str] = "[redacted]"
_SENSITIVE_HEADER_NAMES: Final[frozenset[str]] = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "apikey",
        "x-auth-token",
        "x-csrftoken",
        "x-csrf-token",
        "webhook-signature",
        "stripe-signature",
        "x-hub-signature",
        "x-hub-signature-256",
        "x-shopify-hmac-sha256",
        "x-twilio-signature",
        "x-webhook-signature",
    }
)
_SENSITIVE_HEADER_PARTS: Final[tuple[str, ...]] = (
    "signature",
    "secret",
    "token",
    "api-key",
    "api_key",
    "apikey",
    "password",
    "passwd",
    "auth",
    "cookie",
    "session",
    "credential",
    "hmac",
)


class OutboundRefused(SaidError):
    """A request was refused by policy before any connection was made.

    The message says why in terms an operator or tenant can act on
    (``"private address 10.0.0.1"``); it never contains credentials, and not
    the full URL either (query strings may carry tokens). ``reason`` is the
    English text; ``words`` (core.words) the same reason for a reader, said in
    the active language by ``in_words()``.
    """

    def __init__(self, reason: str | Words) -> None:
        super().__init__(reason)
        self.reason = str(self)


class HostResolutionError(SaidError, ConnectionError):
    """The hostname could not be resolved (a connection failure, not a refusal)."""


class HostResolutionTimeout(HostResolutionError):
    """The resolver did not answer within the request's deadline."""


@dataclass(slots=True)
class OutboundResult:
    """What happened to one outbound request; the delivery log stores this.

    ``status`` is None when no HTTP response arrived. ``error_kind`` lets the
    retry logic and the UI tell a refusal (fix the URL) from a timeout or a
    connection problem (retry later) from a TLS problem (fix the receiver).
    """

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body_text: str | None = None
    body_json: Any | None = None
    truncated: bool = False
    duration_ms: int = 0
    error: str | None = None
    error_kind: ErrorKind | None = None
    #: ``error`` as words (core.words), for a reader in another language than the log's.
    error_words: Words | None = None

    @property
    def ok(self) -> bool:
        """True for a complete 2xx response (C8: only 2xx is success)."""
        return self.error is None and self.status is not None and 200 <= self.status < 300


def _failed(kind: ErrorKind, said: Words, **fields: Any) -> OutboundResult:
    """A result that failed: ``said`` kept as words beside its English text."""
    return OutboundResult(error=english(said), error_kind=kind, error_words=said, **fields)


def _refused(exc: OutboundRefused) -> OutboundResult:
    return _failed("refused", words(N_("refused: %(reason)s"), reason=exc.words or exc.reason))


# --------------------------------------------------------------------------- addresses


def _parse_ip(ip: str | IPAddress) -> IPAddress | None:
    if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return ip
    text = str(ip).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_forbidden_address(ip: str | IPAddress, *, allow_private: bool) -> str | None:
    """Why ``ip`` must not be contacted, in English (:func:`forbidden_address_words`), or None."""
    said = forbidden_address_words(ip, allow_private=allow_private)
    return english(said) if said is not None else None


def forbidden_address_words(ip: str | IPAddress, *, allow_private: bool) -> Words | None:
    """Return why ``ip`` must not be contacted (as words, core.words), or None if it may be.

    Always refused, even with ``allow_private`` (nothing legitimate lives
    there, and they are the classic SSRF prizes): cloud metadata addresses,
    link-local (169.254/16, fe80::/10), unspecified and "this network"
    (0.0.0.0/8, ::), multicast, reserved and broadcast. Refused unless
    ``allow_private``: loopback, RFC 1918, unique-local fc00::/7, carrier-grade
    NAT 100.64/10 and any other non-global range (documentation, benchmarking).
    IPv6 forms that embed an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``,
    6to4, Teredo, NAT64) are judged by the embedded address too, because
    ``ipaddress`` in Python 3.11 does not see through them.
    """
    addr = _parse_ip(ip)
    if addr is None:
        return words(N_("invalid address %(address)s"), address=repr(ip))

    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id:
            addr = ipaddress.IPv6Address(str(addr).split("%", 1)[0])
        mapped = addr.ipv4_mapped
        if mapped is not None:
            reason = forbidden_address_words(mapped, allow_private=allow_private)
            return words(N_("%(reason)s (IPv4-mapped %(address)s)"), reason=reason, address=str(addr)) if reason else None
        if addr in _IPV6_NAT64:
            embedded = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
            reason = forbidden_address_words(embedded, allow_private=allow_private)
            return words(N_("%(reason)s (NAT64 %(address)s)"), reason=reason, address=str(addr)) if reason else None
        embedded_v4: list[ipaddress.IPv4Address] = []
        if addr.sixtofour is not None:
            embedded_v4.append(addr.sixtofour)
        if addr.teredo is not None:
            embedded_v4.extend(addr.teredo)
        for inner in embedded_v4:
            reason = forbidden_address_words(inner, allow_private=allow_private)
            if reason:
                return words(N_("%(reason)s (embedded in %(address)s)"), reason=reason, address=str(addr))

    if addr in _METADATA_ADDRESSES:
        return words(N_("cloud metadata address %(address)s"), address=str(addr))
    if addr in (_IPV4_LINK_LOCAL if addr.version == 4 else _IPV6_LINK_LOCAL):
        return words(N_("link-local address %(address)s"), address=str(addr))
    if addr.is_unspecified or (addr.version == 4 and addr in _IPV4_THIS_NETWORK):
        return words(N_("unspecified address %(address)s"), address=str(addr))
    if addr.is_multicast:
        return words(N_("multicast address %(address)s"), address=str(addr))
    if addr.is_loopback:  # before "reserved": Python counts ::1 as part of reserved ::/8
        return None if allow_private else words(N_("loopback address %(address)s"), address=str(addr))
    if addr.is_reserved or (addr.version == 4 and addr == ipaddress.IPv4Address("255.255.255.255")):
        return words(N_("reserved address %(address)s"), address=str(addr))
    if allow_private:
        return None
    if addr.version == 4 and addr in _IPV4_CGNAT:
        return words(N_("shared (CGNAT) address %(address)s"), address=str(addr))
    if addr.is_private or (addr.version == 6 and addr in _IPV6_ULA):
        return words(N_("private address %(address)s"), address=str(addr))
    if not addr.is_global:
        return words(N_("non-public address %(address)s"), address=str(addr))
    return None


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Interpret numeric hosts the way C resolvers do (``127.1`` → 127.0.0.1)."""
    if not _LEGACY_IPV4_RE.fullmatch(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
    except OSError:
        return None


def _host_as_ip(host: str) -> IPAddress | None:
    return _parse_ip(host) or _legacy_ipv4(host)


#: Public name: the loop guard (webhooks.loops) reads hosts the way the resolver does.
host_as_ip = _host_as_ip


# --------------------------------------------------------------------------- URLs


def _split(url: str) -> SplitResult:
    """Parse and statically validate a URL; raise OutboundRefused on any problem."""
    if not isinstance(url, str) or not url:
        raise OutboundRefused(words(N_("URL is empty")))
    if len(url) > MAX_URL_LENGTH:
        raise OutboundRefused(words(N_("URL is longer than %(n)s characters"), n=MAX_URL_LENGTH))
    if _URL_FORBIDDEN_CHARS_RE.search(url):
        raise OutboundRefused(words(N_("URL contains whitespace, control characters or backslashes")))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundRefused(words(N_("URL is malformed (bad host or port)"))) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise OutboundRefused(words(N_("URL scheme must be http or https")))
    if "@" in parts.netloc:
        raise OutboundRefused(words(N_("URL must not contain credentials (user:password@)")))
    if not parts.hostname:
        raise OutboundRefused(words(N_("URL has no host")))
    if port is not None and not 1 <= port <= 65535:
        raise OutboundRefused(words(N_("URL port must be between 1 and 65535")))
    return parts


def origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of ``url``, normalised (lower case, no trailing dot,
    the scheme's default port filled in); None when it cannot be parsed."""
    try:
        parts = urlsplit(url or "")
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if not scheme or not host:
        return None
    return scheme, host, port or (443 if scheme == "https" else 80)


def check_url(url: str, *, allow_private: bool) -> None:
    """Validate a webhook/forward target URL when it is saved.

    Static checks only (no DNS: the answer could change before delivery, which
    is why :func:`send` checks again): http/https, a host, no userinfo, port
    1–65535, at most 2048 characters, no whitespace/control characters. If the
    host is an IP literal (including legacy forms like ``127.1``) the address
    rules apply; ``localhost`` names are treated as loopback and metadata
    hostnames are always refused. Raises :class:`OutboundRefused`.
    """
    parts = _split(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if host in _METADATA_HOSTNAMES:
        raise OutboundRefused(words(N_("cloud metadata host %(host)s"), host=host))
    ip = _host_as_ip(host)
    if ip is not None:
        reason = forbidden_address_words(ip, allow_private=allow_private)
        if reason:
            raise OutboundRefused(reason)
        return
    if not allow_private and (host == "localhost" or host.endswith(".localhost")):
        raise OutboundRefused(words(N_("loopback host %(host)s"), host=host))


# --------------------------------------------------------------------------- DNS


def resolve_host(host: str, port: int, *, timeout: float | None = None) -> list[str]:
    """Resolve ``host`` to its IP addresses (deduplicated, resolver order).

    Bounded: gives up at ``timeout``, else at the open :func:`deadline`, else
    after ``deadline.DEFAULT_DNS_TIMEOUT`` (:class:`HostResolutionTimeout`).
    A separate function so tests can substitute a fake resolver. Raises
    :class:`HostResolutionError` when the name does not resolve.
    """
    try:
        infos = resolve_bounded(host, port, timeout=timeout)
    except DnsTimeout:
        raise HostResolutionTimeout(words(N_("DNS lookup of %(host)s timed out"), host=host)) from None
    except (OSError, UnicodeError) as exc:
        raise HostResolutionError(words(N_("could not resolve host %(host)s"), host=host)) from exc
    ips: dict[str, None] = {}
    for family, _type, _proto, _canon, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            ips.setdefault(str(sockaddr[0]), None)
    if not ips:
        raise HostResolutionError(words(N_("could not resolve host %(host)s"), host=host))
    return list(ips)


def resolve_and_check(host: str, port: int, *, allow_private: bool) -> list[str]:
    """Resolve ``host`` and return its addresses if **all** of them are allowed.

    Every address must pass, not just the first: otherwise a name with one
    public and one private record could be used to reach the private one
    (the resolver order is not ours to choose). IP literals are checked
    without DNS. Raises :class:`OutboundRefused` (policy) or
    :class:`HostResolutionError` (DNS failure).
    """
    name = host.strip()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    literal = _host_as_ip(name)
    if literal is not None:
        ips = [str(literal)]
    else:
        if name.rstrip(".").lower() in _METADATA_HOSTNAMES:
            raise OutboundRefused(words(N_("cloud metadata host %(host)s"), host=name))
        ips = resolve_host(name, port)
    for ip in ips:
        reason = forbidden_address_words(ip, allow_private=allow_private)
        if reason:
            raise OutboundRefused(reason)
    return ips


# --------------------------------------------------------------------------- headers


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return a copy of ``headers`` safe to store in logs.

    Values of credential-bearing headers (Authorization, cookies, API keys,
    any signature/secret/token header such as ``X-Webhook-Signature``,
    ``webhook-signature``, ``Stripe-Signature``, ``X-Hub-Signature-256``) are
    replaced by ``"[redacted]"``. Matching is case-insensitive and errs on the
    side of redacting: a signature in a log lets anyone who reads it replay
    the request, and DESIGN §5 forbids secrets in WebhookLog headers.
    """
    return {name: _REDACTED if is_sensitive_header(name) else value for name, value in headers.items()}


def unmask_header(value: Any, stored: Any, *, origin_changed: bool = False) -> Any:
    """A header value a client sent: the mask (``[redacted]``, as API answers show
    credentials) stands for the ``stored`` value. Raises ``ValueError`` (the reason)
    for a mask with nothing stored behind it, for a mask when the target's origin
    changed (a stored credential never follows a new destination: the caller types
    it again), and for a ciphertext: clients never see one, and one moved from
    another row would not open."""
    from core.crypto import TEXT_PREFIX, is_sealed

    if value == _REDACTED:
        if stored is None or stored == _REDACTED:
            raise ValueError("send the header's value (it is stored encrypted and answered masked)")
        if origin_changed:
            raise ValueError(
                "the target URL's origin (scheme, host, port) changed: send this credential's value again, "
                "or remove the header"
            )
        return stored
    if is_sealed(value):
        raise ValueError(f"must not start with {TEXT_PREFIX}")
    return value


def is_sensitive_header(name: str) -> bool:
    """Whether a header's value is a credential (redacted in logs and API answers, sealed at rest)."""
    lowered = name.strip().lower()
    return lowered in _SENSITIVE_HEADER_NAMES or any(p in lowered for p in _SENSITIVE_HEADER_PARTS)


# --------------------------------------------------------------------------- sending


class _PinnedAdapter(DeadlineAdapter):
    """A :class:`DeadlineAdapter` that connects to one fixed IP whatever the URL's host says.

    requests builds the urllib3 pool key from the URL; we swap the host for
    the checked IP and, for HTTPS, set ``server_hostname`` (SNI) and
    ``assert_hostname`` (certificate check) to the real hostname. Everything
    else — TLS verification, chunked bodies — stays requests' own; the
    deadline and the response cap are the base class's.
    """

    def __init__(self, ip: str, hostname: str, **deadline_kwargs: Any) -> None:
        self._pinned_ip = ip
        self._hostname = hostname
        super().__init__(pool_connections=1, pool_maxsize=1, **deadline_kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params["host"] = self._pinned_ip
        if host_params.get("scheme") == "https":
            pool_kwargs["server_hostname"] = self._hostname
            pool_kwargs["assert_hostname"] = self._hostname
        return host_params, pool_kwargs


# Public name for other outbound callers (the provider client pins tenant-typed origins too).
PinnedAdapter = _PinnedAdapter


def pinned_host_header(url: str) -> str:
    """The Host header to send when connecting to a pinned IP (urllib3 would send the IP)."""
    return _host_header(_split(url))


#: Connection pools kept per (scheme, checked IP, port, hostname, CA bundle), so
#: deliveries to the same receiver reuse a keep-alive connection instead of a
#: new TCP (and TLS) handshake per request. The key holds the checked IP: a
#: connection is only ever reused for the address that was checked this time.
#: urllib3 directly rather than a requests Session: no cookie jar to carry
#: between tenants' requests, no environment proxies or netrc, and about half
#: the client-side work per request.
_POOL_CACHE_SIZE: Final[int] = 256
_POOL_MAXSIZE: Final[int] = 8
_pools: OrderedDict[tuple[str, str, int, str, str | None], HTTPConnectionPool] = OrderedDict()
_pools_lock = threading.Lock()
_pools_pid = os.getpid()


def _pool_for(ip: str, hostname: str, parts: SplitResult, ca_bundle: str | None) -> HTTPConnectionPool:
    global _pools_pid
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    key = (scheme, ip, port, hostname, ca_bundle)
    with _pools_lock:
        if _pools_pid != os.getpid():  # forked: the parent's sockets are not ours
            _pools.clear()
            _pools_pid = os.getpid()
        pool = _pools.get(key)
        if pool is not None:
            _pools.move_to_end(key)
            return pool
        if scheme == "https":
            pool = DeadlineHTTPSConnectionPool(
                ip, port, maxsize=_POOL_MAXSIZE, block=False, retries=False,
                cert_reqs="CERT_REQUIRED", ca_certs=ca_bundle or certifi.where(),
                server_hostname=hostname, assert_hostname=hostname,
            )
        else:
            pool = DeadlineHTTPConnectionPool(ip, port, maxsize=_POOL_MAXSIZE, block=False, retries=False)
        _pools[key] = pool
        if len(_pools) > _POOL_CACHE_SIZE:
            _key, oldest = _pools.popitem(last=False)
            oldest.close()
        return pool


def _fmt_seconds(value: float) -> str:
    return f"{value:g}s"


def _host_header(parts: SplitResult) -> str:
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default_port = 443 if parts.scheme.lower() == "https" else 80
    if parts.port is not None and parts.port != default_port:
        host = f"{host}:{parts.port}"
    return host


def _innermost(exc: BaseException) -> BaseException:
    """Walk requests/urllib3 wrappers down to the exception that explains it."""
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        nxt: BaseException | None = None
        if isinstance(current, MaxRetryError) and current.reason is not None:
            nxt = current.reason
        elif current.args and isinstance(current.args[0], BaseException):
            nxt = current.args[0]
        elif current.__cause__ is not None:
            nxt = current.__cause__
        elif current.__context__ is not None and not isinstance(current, OSError | ssl.SSLError):
            nxt = current.__context__
        if nxt is None:
            break
        current = nxt
    return current


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        out.append(cur)
        if isinstance(cur, MaxRetryError):
            stack.append(cur.reason)
        stack.extend(a for a in cur.args if isinstance(a, BaseException))
        stack.append(cur.__cause__)
        stack.append(cur.__context__)
    return out


def _is_connect_failure(exc: BaseException) -> bool:
    """True when the error happened before the request could have been sent.

    Only then is it safe to try the next resolved address: retrying after the
    request was sent could deliver a POST twice.
    """
    return any(
        isinstance(e, NewConnectionError | ConnectTimeoutError | requests.exceptions.ConnectTimeout)
        for e in _chain(exc)
    ) and not any(isinstance(e, ReadTimeoutError | ProtocolError) for e in _chain(exc))


def _classify(exc: BaseException, timeout: float) -> tuple[ErrorKind, Words]:
    """Map a requests/urllib3/socket exception to (error_kind, safe message as words).

    Messages are built by us, never ``str(exc)``: requests' messages embed the
    full URL, whose query string may carry a tenant's token.
    """
    chain = _chain(exc)
    # urllib3's NewConnectionError subclasses ConnectTimeoutError, but it means
    # "connect failed" (refused, unreachable), not a timeout.
    timeout_types = (requests.exceptions.Timeout, ConnectTimeoutError, ReadTimeoutError, TimeoutError)
    if any(isinstance(e, timeout_types) and not isinstance(e, NewConnectionError) for e in chain):
        return "timeout", _timed_out(timeout)
    ssl_errors = [
        e for e in chain if isinstance(e, ssl.SSLError | Urllib3SSLError | requests.exceptions.SSLError)
    ]
    if ssl_errors:
        detail = ""
        for e in chain:
            if isinstance(e, HostnameMismatchError):  # urllib3's assert_hostname check
                detail = str(e)
                break
            if isinstance(e, ssl.SSLCertVerificationError):
                detail = e.verify_message or "certificate verification failed"
                break
            if isinstance(e, ssl.SSLError) and e.reason:
                detail = str(e.reason).lower().replace("_", " ")
                break
        return "tls", words(N_("TLS error: %(detail)s"), detail=detail or words(N_("handshake failed")))
    if any(isinstance(e, NameResolutionError | socket.gaierror) for e in chain):
        return "connection", words(N_("could not resolve host"))
    for e in chain:
        if isinstance(e, ConnectionRefusedError) or (
            isinstance(e, OSError) and e.errno == errno.ECONNREFUSED
        ):
            return "connection", words(N_("connection refused"))
    for e in chain:
        if isinstance(e, ConnectionResetError):
            return "connection", words(N_("connection reset by peer"))
    for e in chain:
        if isinstance(e, OSError) and e.errno is not None and e.strerror:
            return "connection", words(N_("connection failed: %(error)s"), error=e.strerror.lower())
    if any(isinstance(e, ProtocolError | requests.exceptions.ChunkedEncodingError) for e in chain):
        return "connection", words(N_("connection closed before a complete response"))
    return "connection", words(N_("connection failed: %(error)s"), error=type(_innermost(exc)).__name__)


def _timed_out(timeout: float, *, dns: bool = False) -> Words:
    if dns:
        return words(N_("timeout after %(seconds)s (DNS lookup)"), seconds=_fmt_seconds(timeout))
    return words(N_("timeout after %(seconds)s"), seconds=_fmt_seconds(timeout))


def _clean_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Validate caller headers; drop the ones this module must control."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN_RE.fullmatch(name):
            raise OutboundRefused(words(N_("invalid header name %(name)s"), name=repr(name)))
        if not isinstance(value, str) or _BAD_HEADER_VALUE_RE.search(value):
            raise OutboundRefused(words(N_("invalid value for header %(name)s"), name=name))
        try:
            value.encode("latin-1")  # what HTTP/1.1 (and http.client) can carry
        except UnicodeEncodeError:
            raise OutboundRefused(words(N_("header %(name)s must contain only ASCII/Latin-1 characters"),
                                        name=name)) from None
        if name.lower() in ("host", "content-length", "transfer-encoding", "connection"):
            continue
        out[name] = value
    return out


def _decode_json(body: bytes, content_type: str) -> Any | None:
    stripped = body.lstrip()
    if "json" not in content_type.lower() and not stripped.startswith((b"{", b"[")):
        return None
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def send(
    *,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    timeout: float,
    allow_private: bool,
    max_response_bytes: int = 65536,
    ca_bundle: str | None = None,
) -> OutboundResult:
    """Send one request safely and report what happened. Never raises for I/O.

    Steps: static URL check → resolve and check every address → connect to
    the first checked address (falling back to the next only if the TCP
    connect itself failed, so a request is never sent twice) with the Host
    header, SNI and certificate check for the hostname → no redirects →
    stream at most ``max_response_bytes`` of the body. ``timeout`` (seconds)
    is a wall-clock deadline for all of it, DNS lookup included: when it
    passes the socket is shut down, whatever the receiver is doing, and the
    result is a ``timeout`` (with the status, if the headers had arrived).

    ``headers`` are sent as given plus ``User-Agent`` (unless supplied);
    ``Host``, ``Content-Length``, ``Transfer-Encoding`` and ``Connection``
    are controlled here. ``ca_bundle`` overrides the CA bundle (private CAs,
    tests); verification itself cannot be turned off.

    Raises only for programming errors (bad ``method``, non-bytes ``body``,
    non-positive ``timeout``).
    """
    if not isinstance(method, str) or not _TOKEN_RE.fullmatch(method):
        raise ValueError(f"invalid HTTP method {method!r}")
    if not isinstance(body, bytes | bytearray):
        raise TypeError("body must be bytes")
    if not timeout or timeout <= 0:
        raise ValueError("timeout must be positive")
    if max_response_bytes < 0:
        raise ValueError("max_response_bytes must be >= 0")

    started = time.monotonic()

    def finish(result: OutboundResult) -> OutboundResult:
        result.duration_ms = int((time.monotonic() - started) * 1000)
        return result

    try:
        parts = _split(url)
        check_url(url, allow_private=allow_private)
        send_headers = _clean_headers(headers)
    except OutboundRefused as exc:
        return finish(_refused(exc))
    with deadline(timeout) as scope:
        result = _send_within(method, parts, send_headers, body, timeout, allow_private, max_response_bytes, ca_bundle)
        if scope.expired and result.error_kind != "timeout":
            # The watchdog shut the socket down: whatever broke after that is the deadline.
            said = _timed_out(timeout)
            result.error, result.error_kind, result.error_words, result.body_json = english(said), "timeout", said, None
    return finish(result)


def _send_within(method: str, parts: SplitResult, send_headers: dict[str, str], body: bytes, timeout: float,
                 allow_private: bool, max_response_bytes: int, ca_bundle: str | None) -> OutboundResult:
    """:func:`send` after the static checks, inside the request's deadline scope."""
    hostname = parts.hostname or ""
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        ips = resolve_and_check(hostname, port, allow_private=allow_private)
    except OutboundRefused as exc:
        return _refused(exc)
    except HostResolutionTimeout:
        return _failed("timeout", _timed_out(timeout, dns=True))
    except HostResolutionError as exc:
        if exc.words is None:  # a resolver that says itself in plain text
            return OutboundResult(error=str(exc), error_kind="connection")
        return _failed("connection", exc.words)

    if not any(k.lower() == "user-agent" for k in send_headers):
        send_headers["User-Agent"] = USER_AGENT
    send_headers.setdefault("Accept-Encoding", "identity")
    send_headers["Host"] = _host_header(parts)

    scope = current_deadline()
    last_error: tuple[ErrorKind, Words] = ("connection", words(N_("connection failed")))
    for ip in ips:
        remaining = scope.remaining() if scope is not None else timeout
        if remaining <= 0:
            last_error = ("timeout", _timed_out(timeout))
            break
        pool = _pool_for(ip, hostname, parts, ca_bundle)
        try:
            response = pool.urlopen(
                method.upper(),
                _target(parts),
                body=bytes(body),
                headers=send_headers,
                retries=False,
                redirect=False,
                assert_same_host=False,
                timeout=Urllib3Timeout(connect=remaining, read=remaining),
                preload_content=False,
                decode_content=False,
            )
        except (HTTPError, OSError, ValueError) as exc:
            last_error = _classify(exc, timeout)
            if _is_connect_failure(exc) and last_error[0] == "connection":
                continue
            return _failed(*last_error)
        return _read_response(response, timeout, max_response_bytes)
    return _failed(*last_error)


def _target(parts: SplitResult) -> str:
    """The request target: path and query, as the URL spelled them."""
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _read_response(response: BaseHTTPResponse, timeout: float, max_response_bytes: int) -> OutboundResult:
    """Read at most ``max_response_bytes`` of the body (the open deadline interrupts a slow one)."""
    result = OutboundResult(status=response.status, headers=dict(response.headers))
    chunks: list[bytes] = []
    size = 0
    complete = False
    try:
        for chunk in response.stream(8192, decode_content=False):
            if not chunk:
                continue
            chunks.append(chunk)
            size += len(chunk)
            if size > max_response_bytes:
                result.truncated = True
                break
        else:
            complete = True
    except (HTTPError, OSError, ValueError) as exc:
        kind, said = _classify(exc, timeout)
        result.error, result.error_kind, result.error_words = english(said), kind, said
    finally:
        if not complete:
            response.close()  # a half-read connection is never reused
        response.release_conn()
    data = b"".join(chunks)[:max_response_bytes]
    result.body_text = data.decode("utf-8", errors="replace")
    if not result.truncated and result.error is None:
        result.body_json = _decode_json(data, response.headers.get("Content-Type", ""))
    return result


# --------------------------------------------------------------------------- streamed downloads
class DownloadFailed(SaidError):
    """A streamed download could not be completed (refused, network, non-2xx, over the cap).
    ``kind`` is an :data:`ErrorKind`-like word; the message (English, and ``words`` for a
    reader: core.words) names no URL or secret."""

    def __init__(self, kind: str, message: str | Words) -> None:
        self.kind = kind
        super().__init__(message)


@dataclass
class Download:
    """An open streamed GET: ``status``, ``headers``, ``size`` (Content-Length or None) and
    ``chunks(n)``, which yields the body ``n`` bytes at a time (the last chunk shorter), never
    more than ``max_bytes`` in all and never the whole body in memory."""

    status: int
    headers: dict[str, str]
    size: int | None
    _response: Any = field(repr=False)
    _max_bytes: int = 0
    _timeout: float = 0.0

    def chunks(self, n: int) -> Any:
        buffer = bytearray()
        total = 0
        try:
            for piece in self._response.stream(65536, decode_content=False):
                total += len(piece)
                if total > self._max_bytes:
                    raise DownloadFailed("too_large", words(N_("the file is larger than %(n)s bytes"), n=self._max_bytes))
                buffer += piece
                while len(buffer) >= n:
                    yield bytes(buffer[:n])
                    del buffer[:n]
        except (HTTPError, OSError, ValueError) as exc:
            raise DownloadFailed(*_classify(exc, self._timeout)) from None
        if self.size is not None and total != self.size:
            raise DownloadFailed("connection", words(N_("the file ended after %(done)s of %(size)s bytes"),
                                                     done=total, size=self.size))
        if buffer:
            yield bytes(buffer)


class stream_get:  # noqa: N801 - used as a context manager, like open()
    """``with stream_get(url, ...) as download:`` -- a GET with :func:`send`'s rules (static
    URL check, every resolved address checked, the connection pinned to the checked IP, no
    redirects, a wall-clock ``timeout`` for the whole transfer) whose body is streamed rather
    than read: what a sync reads a tenant's file with before uploading it to a provider.
    Raises :class:`DownloadFailed` (never a URL in the message)."""

    def __init__(self, url: str, *, timeout: float, allow_private: bool, max_bytes: int,
                 headers: Mapping[str, str] | None = None, ca_bundle: str | None = None) -> None:
        self.url, self.timeout, self.allow_private, self.max_bytes = url, timeout, allow_private, max_bytes
        self.headers, self.ca_bundle = dict(headers or {}), ca_bundle
        self._scope: Any = None
        self._response: Any = None

    def __enter__(self) -> Download:
        try:
            parts = _split(self.url)
            check_url(self.url, allow_private=self.allow_private)
        except OutboundRefused as exc:
            raise DownloadFailed("refused", words(N_("refused: %(reason)s"), reason=exc.words or exc.reason)) from None
        self._scope = deadline(self.timeout)
        self._scope.__enter__()
        try:
            return self._open(parts)
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def _open(self, parts: SplitResult) -> Download:
        hostname = parts.hostname or ""
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        try:
            ips = resolve_and_check(hostname, port, allow_private=self.allow_private)
        except OutboundRefused as exc:
            raise DownloadFailed("refused", words(N_("refused: %(reason)s"), reason=exc.words or exc.reason)) from None
        except HostResolutionError as exc:
            raise DownloadFailed("connection", exc.words or str(exc)) from None
        send_headers = _clean_headers(self.headers)
        send_headers.setdefault("User-Agent", USER_AGENT)
        send_headers["Accept-Encoding"] = "identity"
        send_headers["Host"] = _host_header(parts)
        pool = _pool_for(ips[0], hostname, parts, self.ca_bundle)
        try:
            response = pool.urlopen("GET", _target(parts), headers=send_headers, retries=False, redirect=False,
                                    assert_same_host=False, preload_content=False, decode_content=False,
                                    timeout=Urllib3Timeout(connect=self.timeout, read=self.timeout))
        except (HTTPError, OSError, ValueError) as exc:
            raise DownloadFailed(*_classify(exc, self.timeout)) from None
        self._response = response
        if not 200 <= response.status < 300:
            raise DownloadFailed("http", words(N_("the file server answered HTTP %(status)s"), status=response.status))
        length = response.headers.get("Content-Length")
        size = int(length) if length and length.isdigit() else None
        if size is not None and size > self.max_bytes:
            raise DownloadFailed("too_large", words(N_("the file is larger than %(n)s bytes"), n=self.max_bytes))
        return Download(status=response.status, headers=dict(response.headers), size=size, _response=response,
                        _max_bytes=self.max_bytes, _timeout=self.timeout)

    def __exit__(self, *exc_info: Any) -> None:
        if self._response is not None:
            self._response.close()  # a half-read connection is never reused
            self._response.release_conn()
            self._response = None
        if self._scope is not None:
            scope, self._scope = self._scope, None
            scope.__exit__(None, None, None)
