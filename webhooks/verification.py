"""Authenticity checks for incoming webhook requests, one verifier per scheme.

(This module is long on purpose, ~1,170 lines: it is the one explicit registry of 20-odd
schemes, each verifier a short pure function beside the helpers they share and
their test signers; splitting it per provider waits for issue 12 item 5, which
makes each scheme a record living in its provider's folder.)

Why this module exists: every provider proves "this request really comes from
me" differently (HMAC over the body, over the URL and form fields, over a
timestamp, an ECDSA signature, a shared value inside the JSON...). The
incoming endpoint should not know any of that; it builds an
:class:`InboundRequest` from the raw HTTP request and asks :func:`verify`
(and, before that, :func:`handshake` for the providers that first probe the
URL). Keeping the rules pure - no Django, no database - lets them be tested
against the providers' own SDKs and published vectors.

Rules every verifier follows:

* It works on the **raw body bytes** exactly as received; nothing is parsed
  and re-serialised before a signature check.
* Every secret comparison goes through :func:`hmac.compare_digest` on bytes.
* ``secrets`` is the list of secrets currently valid for the webhook (the
  current one first, then a previous one still inside its rotation grace
  period); a request signed with **any** of them passes.
* Malformed input (missing headers, bad base64, non-JSON bodies, absurd
  timestamps...) never raises: the result is ``ok=False`` with a short English
  ``reason`` that never contains secret material, so it can be logged and
  shown to the tenant.
* ``dedupe_id`` is filled only for verified requests (an unauthenticated
  sender must not be able to poison the de-duplication table); it is the
  provider's own delivery or event id when one exists. Schemes that sign the
  body and nothing else (``hmac``'s hex signature, ``payplus``) use a hash of
  the signed body instead of an unsigned id header, so a replay of a captured
  request is a duplicate whatever id header it carries.

Handshakes (:func:`handshake`) cover the providers that validate a URL
before sending events: Meta (``hub.challenge``), Dropbox (``challenge``),
Microsoft Graph (``validationToken``), monday (POST ``{"challenge"}`` echoed
as JSON) and Google push channels (the ``sync`` message, acknowledged). Xero's "intent to receive" needs no
special path: Xero sends signed and deliberately mis-signed requests and
expects 200 for the good ones and 401 for the bad ones, which is exactly what
the endpoint does with the result of :func:`verify` (``ok=False`` -> 401).
Note that Xero's documentation asks for status 200 specifically; the
endpoint should use 200 rather than 202 for the ``xero`` scheme if Xero
refuses 202.

Config keys read (all optional unless stated): ``signatureHeader`` (hmac),
``toleranceSeconds`` (standard, hmac, stripe, hubspot, sendgrid - replay
window in seconds; sendgrid checks it only when set), ``clientState``
(graph), ``verifyToken`` (meta handshake), ``publicKey`` (sendgrid,
required unless given in ``secrets``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from .signing import (
    STANDARD_ID_HEADER,
    STANDARD_SIGNATURE_HEADER,
    STANDARD_TIMESTAMP_HEADER,
    hex_hmac_sha256,
    standard_signature_bytes,
)

__all__ = [
    "InboundRequest",
    "VerificationResult",
    "HandshakeResponse",
    "Verifier",
    "VERIFIERS",
    "SCHEMES",
    "DEFAULT_SIGNATURE_HEADER",
    "DEFAULT_TOLERANCE_SECONDS",
    "get_header",
    "parse_form_body",
    "verify",
    "handshake",
    "describe",
]

#: Header carrying the seed's hex HMAC (contract C6) unless a webhook overrides it.
DEFAULT_SIGNATURE_HEADER = "X-Webhook-Signature"

#: Replay window used by Standard Webhooks, Stripe and HubSpot (5 minutes).
DEFAULT_TOLERANCE_SECONDS = 300

#: Headers that commonly carry a sender's delivery id, tried in this order
#: when a scheme has no more specific id. ``X-Webhook-Delivery`` is what this
#: hub itself sends (C7), so hub-to-hub deliveries dedupe too.
GENERIC_ID_HEADERS: tuple[str, ...] = (
    STANDARD_ID_HEADER,
    "svix-id",
    "X-Webhook-Delivery",
    "X-GitHub-Delivery",
    "X-Delivery-Id",
    "X-Request-Id",
    "Idempotency-Key",
)

# Upper bounds that keep hostile headers cheap to process.
_MAX_SIGNATURE_ENTRIES = 32
_MAX_ID_LENGTH = 200
_MAX_CHALLENGE_LENGTH = 4096
_TIMESTAMP_RE = re.compile(r"[0-9]{1,15}")

# monday signing secrets are the provider's choice, not ours: PyJWT's advice to use
# 32+ byte HMAC keys would only fill the log.
warnings.filterwarnings("ignore", category=jwt.InsecureKeyLengthWarning)

#: Clock skew allowed on a monday JWT's ``exp``/``nbf``.
MONDAY_LEEWAY_SECONDS = 30
_MAX_JWT_LENGTH = 8192

_FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_TEXT_PLAIN = "text/plain; charset=utf-8"
_JSON = "application/json"
_NOSNIFF = {"X-Content-Type-Options": "nosniff"}


# ---------------------------------------------------------------------------
# Request / result types
# ---------------------------------------------------------------------------


def get_header(headers: Mapping[str, str], name: str) -> str | None:
    """Return header ``name`` from ``headers`` ignoring case, or ``None``.

    HTTP header names are case-insensitive, but plain dicts (tests, WSGI
    environ conversions, stored logs) are not; every lookup in this module
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
        if not source and self.content_type == _FORM_CONTENT_TYPE:
            source = parse_form_body(self.body)
        return {key: [value] if isinstance(value, str) else list(value) for key, value in source.items()}


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of :func:`verify`.

    ``reason`` is empty on success (except for the ``none`` scheme, which says
    "unauthenticated") and a short English phrase on failure, safe to log:
    it never contains secrets or signatures.
    """

    ok: bool
    reason: str = ""
    dedupe_id: str | None = None


@dataclass(frozen=True)
class HandshakeResponse:
    """What to answer to a URL-validation request instead of processing it.

    ``headers`` carries extra response headers; echo responses always include
    ``X-Content-Type-Options: nosniff`` so a reflected challenge can never be
    sniffed into HTML by a browser.
    """

    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


#: A verifier gets the request, the usable secrets, the webhook's config and
#: the current Unix time, and must not raise.
Verifier = Callable[[InboundRequest, Sequence[str], Mapping[str, Any], float], VerificationResult]


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def _eq(a: str | bytes, b: str | bytes) -> bool:
    """Timing-safe equality for text or bytes (text compared as UTF-8 bytes).

    ``hmac.compare_digest`` refuses non-ASCII ``str`` with a TypeError, so
    everything is turned into bytes first; attacker-chosen header values can
    then never make a comparison raise.
    """
    a_bytes = a.encode("utf-8", "surrogatepass") if isinstance(a, str) else a
    b_bytes = b.encode("utf-8", "surrogatepass") if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)


def _fail(reason: str) -> VerificationResult:
    return VerificationResult(ok=False, reason=reason, dedupe_id=None)


def _ok(dedupe_id: str | None) -> VerificationResult:
    return VerificationResult(ok=True, reason="", dedupe_id=dedupe_id)


def _usable_secrets(secrets: Sequence[str]) -> list[str]:
    """Drop empty or non-text secrets: an empty HMAC key would accept forgeries."""
    return [s for s in secrets if isinstance(s, str) and s]


def _b64decode(value: str) -> bytes | None:
    """Strict standard-base64 decode; ``None`` instead of an exception."""
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def _tolerance(config: Mapping[str, Any], default: int | None) -> int | None:
    """Replay window from ``config["toleranceSeconds"]`` (positive int) or the default."""
    value = config.get("toleranceSeconds")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return default


def _parse_timestamp(value: str | None) -> int | None:
    """Parse a non-negative integer timestamp header; ``None`` if malformed."""
    if value is None:
        return None
    value = value.strip()
    if not _TIMESTAMP_RE.fullmatch(value):
        return None
    return int(value)


def _strip_prefix(value: str, prefix: str) -> str:
    """Remove ``prefix`` (case-insensitive) from ``value`` if present."""
    if value[: len(prefix)].lower() == prefix:
        return value[len(prefix) :]
    return value


def _normalise_id(value: Any) -> str | None:
    """Turn a provider id into a bounded string (long ids are hashed)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    if not text:
        return None
    if len(text) > _MAX_ID_LENGTH:
        return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return text


def _header_id(req: InboundRequest, names: Sequence[str] = GENERIC_ID_HEADERS) -> str | None:
    """First non-empty delivery-id header among ``names``."""
    for name in names:
        found = _normalise_id(req.header(name))
        if found:
            return found
    return None


def _body_id(signed: bytes) -> str:
    """Dedupe id for schemes that sign the body and nothing else (no delivery id, no
    timestamp): the same signed bytes again are a replay of the same request."""
    return "body:" + hashlib.sha256(signed).hexdigest()


def _json_body(req: InboundRequest) -> Any:
    """Parsed JSON body, or ``None`` when the body is not JSON."""
    try:
        return json.loads(req.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _json_event_id(data: Any, key: str) -> str | None:
    """Event id(s) under ``key`` in a JSON object or in a JSON array of objects.

    A single event gives its own id. A batch (HubSpot, SendGrid, QuickBooks
    CloudEvents) gives ``batch:<sha256 of the ids>``, so a redelivery of the
    very same batch is recognised while different batches never collide.
    """
    if isinstance(data, dict):
        return _normalise_id(data.get(key))
    if isinstance(data, list) and data:
        ids: list[str] = []
        for item in data:
            if not isinstance(item, dict):
                return None
            found = _normalise_id(item.get(key))
            if found is None:
                return None
            ids.append(found)
        if len(ids) == 1:
            return ids[0]
        return "batch:" + hashlib.sha256(",".join(ids).encode("utf-8", "surrogatepass")).hexdigest()
    return None


# ---------------------------------------------------------------------------
# Scheme verifiers
# ---------------------------------------------------------------------------


def _check_standard(
    req: InboundRequest, secrets: Sequence[str], now: float, tolerance: int
) -> VerificationResult:
    """Standard Webhooks v1 check (shared by ``standard`` and ``hmac``).

    The timestamp must be within ``tolerance`` seconds of ``now`` in both
    directions (as in the official libraries); the header may hold several
    space-separated ``version,signature`` entries; entries other than ``v1``
    are ignored and an empty ``v1,`` never matches.
    """
    msg_id = req.header(STANDARD_ID_HEADER)
    raw_timestamp = req.header(STANDARD_TIMESTAMP_HEADER)
    signature_header = req.header(STANDARD_SIGNATURE_HEADER)
    if not msg_id or not raw_timestamp or not signature_header:
        return _fail("missing Standard Webhooks headers")
    timestamp = _parse_timestamp(raw_timestamp)
    if timestamp is None:
        return _fail("invalid timestamp")
    if now - timestamp > tolerance:
        return _fail("timestamp too old")
    if timestamp - now > tolerance:
        return _fail("timestamp too new")

    expected = [standard_signature_bytes(s, msg_id, timestamp, req.body) for s in secrets]
    for entry in signature_header.split()[:_MAX_SIGNATURE_ENTRIES]:
        version, _, encoded = entry.partition(",")
        if version != "v1" or not encoded:
            continue
        provided = _b64decode(encoded)
        if not provided:
            continue
        if any(_eq(provided, candidate) for candidate in expected):
            return _ok(_normalise_id(msg_id))
    return _fail("signature mismatch")


def _verify_standard(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float
) -> VerificationResult:
    """Standard Webhooks: ``webhook-id``/``-timestamp``/``-signature`` headers."""
    keys = _usable_secrets(secrets)
    if not keys:
        return _fail("no secret configured")
    tolerance = _tolerance(config, DEFAULT_TOLERANCE_SECONDS) or DEFAULT_TOLERANCE_SECONDS
    return _check_standard(req, keys, now, tolerance)


def _verify_hmac(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float
) -> VerificationResult:
    """The seed's scheme: hex HMAC-SHA256 of the body, or Standard Webhooks.

    The signature header (``X-Webhook-Signature`` unless
    ``config["signatureHeader"]`` says otherwise) may carry a ``sha256=``
    prefix and upper- or lower-case hex. Senders that speak Standard Webhooks
    instead are accepted too (contract C6); when both are present, either
    one being valid is enough since both prove knowledge of the same secret.

    De-duplication: the hex signature covers the body only, so an id header
    next to it proves nothing (a replay could change it); the dedupe id is a
    hash of the body. With Standard Webhooks headers the signed ``webhook-id``
    is used.
    """
    keys = _usable_secrets(secrets)
    if not keys:
        return _fail("no secret configured")
    header_name = config.get("signatureHeader")
    if not isinstance(header_name, str) or not header_name.strip():
        header_name = DEFAULT_SIGNATURE_HEADER
    provided = req.header(header_name.strip())
    has_standard = req.header(STANDARD_SIGNATURE_HEADER) is not None
    if provided is None and not has_standard:
        return _fail("missing signature header")

    first_reason = ""
    if provided is not None:
        value = _strip_prefix(provided.strip(), "sha256=").strip().lower()
        if value and any(_eq(hex_hmac_sha256(s, req.body), value) for s in keys):
            return _ok(_body_id(req.body))
        first_reason = "signature mismatch" if value else "empty signature"
    if has_standard:
        tolerance = _tolerance(config, DEFAULT_TOLERANCE_SECONDS) or DEFAULT_TOLERANCE_SECONDS
        result = _check_standard(req, keys, now, tolerance)
        if result.ok:
            return _ok(result.dedupe_id or _header_id(req))
        first_reason = first_reason or result.reason
    return _fail(first_reason)


def _verify_stripe(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float
) -> VerificationResult:
    """Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]``.

    The expected value is hex HMAC-SHA256 over ``"{t}.{raw body}"`` keyed with
    the ``whsec_...`` endpoint secret's UTF-8 bytes as-is (Stripe does not
    base64-decode it, unlike Standard Webhooks). Like Stripe's own library,
    only timestamps older than the tolerance are rejected.
    """
    keys = _usable_secrets(secrets)
    if not keys:
        return _fail("no secret configured")
    header = req.header("Stripe-Signature")
    if not header:
        return _fail("missing Stripe-Signature header")
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(",")[: _MAX_SIGNATURE_ENTRIES * 2]:
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            timestamps.append(value)
        elif key == "v1" and value.strip():
            signatures.append(value.strip().lower())
    timestamp = _parse_timestamp(timestamps[0]) if len(timestamps) == 1 else None
    if timestamp is None:
        return _fail("invalid timestamp")
    if not signatures:
        return _fail("no v1 signature")
    tolerance = _tolerance(config, DEFAULT_TOLERANCE_SECONDS)
    if tolerance is not None and now - timestamp > tolerance:
        return _fail("timestamp too old")
    signed = f"{timestamp}.".encode() + req.body
    for secret in keys:
        expected = hex_hmac_sha256(secret, signed)
        if any(_eq(expected, candidate) for candidate in signatures):
            return _ok(_json_event_id(_json_body(req), "id") or _header_id(req))
    return _fail("signature mismatch")


_TWILIO_ALGORITHMS: dict[str, Callable[..., Any]] = {
    "HMAC_SHA1": hashlib.sha1,
    "HMAC_SHA256": hashlib.sha256,
}


def _twilio_algorithm(settings_header: str | None) -> str:
    """Algorithm named in ``X-Twilio-Webhooks-Signature-Settings`` (default HMAC_SHA1)."""
    for part in (settings_header or "").split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip() == "algorithm" and value.strip():
            return value.strip().upper()
    return "HMAC_SHA1"


def _url_port_variants(url: str) -> list[str]:
    """``url`` as given plus the same URL with its default port added or removed.

    Twilio is inconsistent about including ``:443``/``:80`` in what it signs,
    so, like its SDKs, both forms are tried.
    """
    variants = [url]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return variants
    if not parts.netloc:
        return variants
    if port is not None:
        netloc = parts.netloc.rsplit(":", 1)[0]
    else:
        default = 443 if parts.scheme.lower() == "https" else 80
        netloc = f"{parts.netloc}:{default}"
    other = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    if other != url:
        variants.append(other)
    return variants


def _verify_twilio(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float
) -> VerificationResult:
    """Twilio: ``X-Twilio-Signature`` = base64 HMAC(auth token, URL + sorted params).

    Form requests sign the full URL followed by every POST parameter as
    ``name + value``, names sorted (case-sensitive), repeated values sorted.
    JSON requests carry ``bodySHA256=<hex sha256(body)>`` in the URL: the body
    hash is checked and the signature covers the URL alone. HMAC-SHA1 is the
    default; ``X-Twilio-Webhooks-Signature-Settings`` may select HMAC-SHA256.
    """
    keys = _usable_secrets(secrets)
    if not keys:
        return _fail("no secret configured")
    header = req.header("X-Twilio-Signature")
    if not header:
        return _fail("missing X-Twilio-Signature header")
    algorithm = _twilio_algorithm(req.header("X-Twilio-Webhooks-Signature-Settings"))
    digest = _TWILIO_ALGORITHMS.get(algorithm)
    if digest is None:
        return _fail("unsupported signature algorithm")
    provided = _b64decode(header)
    if not provided:
        return _fail("malformed signature")

    try:
        url_query = parse_qs(urlsplit(req.url).query, keep_blank_values=True)
    except ValueError:
        return _fail("invalid url")
    body_hashes = url_query.get("bodySHA256")
    suffix = ""
    if body_hashes:
        actual = hashlib.sha256(req.body).hexdigest()
        if not _eq(actual, body_hashes[0].strip().lower()):
            return _fail("body hash mismatch")
    else:
        params = req.form_params()
        suffix = "".join(name + value for name in sorted(params) for value in sorted(set(params[name])))

    for url in _url_port_variants(req.url):
        message = (url + suffix).encode("utf-8", "surrogatepass")
        for secret in keys:
            expected = hmac.new(secret.encode("utf-8"), message, digest).digest()
            if _eq(expected, provided):
                return _ok(_header_id(req, ("I-Twilio-Idempotency-Token", *GENERIC_ID_HEADERS)))
    return _fail("signature mismatch")


def _verify_hex_body_hmac(
    req: InboundRequest, secrets: Sequence[str], header_name: str, prefix: str
) -> VerificationResult:
    """Hex HMAC-SHA256 of the raw body in ``header_name`` (optional ``prefix``)."""
    keys = _usable_secrets(secrets)
    if not keys:
        return _fail("no secret configured")
    header = req.header(header_name)
    if not header:
        return _fail(f"missing {header_name} header")
    value = _strip_prefix(header.strip(), prefix).strip().lower() if prefix else header.strip().lower()
    if not value:
        return _fail("empty signature")
    if any(_eq(hex_hmac_sha256(s, req.body), value) for s in keys):
        return _ok(_header_id(req))
    return _fail("signature mismatch")


def _verify_b64_body_hmac(
    req: InboundRequest, secrets: Sequence[str], header_name: str
) -> VerificationResult:
    """Base64 HMAC-SHA256 of the raw body in ``header_name``."""
    keys = _usable_secrets(secrets)
    if not keys:
        return _fail("no secret configured")
    header = req.header(header_name)
    if not header:
        return _fail(f"missing {header_name} header")
    provided = _b64decode(header)
    if not provided:
        return _fail("malformed signature")
    for secret in keys:
        expected = hmac.new(secret.encode("utf-8"), req.body, hashlib.sha256).digest()
        if _eq(expected, provided):
            return _ok(None)
    return _fail("signature mismatch")


def _verify_meta(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float
) -> VerificationResult:
    """Meta / WhatsApp: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>``."""
    return _verify_hex_body_hmac(req, secrets, "X-Hub-Signature-256", "sha256=")


def _verify_dropbox(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float
) -> VerificationResult:
    """Dropbox: ``X-Dropbox-Signature: <hex HMAC-SHA256(app secret, body)>``."""
    return _verify_hex_body_hmac(req, secrets, "X-Dropbox-Signature", "")


def _verify_xero(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float
) -> VerificationResult:
    """Xero: ``x-xero-signature: <base64 HMAC-SHA256(webhook key, body)>``.

    Also answers Xero's intent-to-receive: a failed check makes the endpoint
    reply 401, a passing one 2xx, which is what Xero tests for.
    """
    result = _verify_b64_body_hmac(req, secrets, "x-xero-signature")
    return _ok(_header_id(req)) if result.ok else result


def _verify_quickbooks(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float
) -> VerificationResult:
    """QuickBooks: ``intuit-signature: <base64 HMAC-SHA256(verifier token, body)>``.

    CloudEvents payloads carry an ``id`` per event, used for de-duplication.
    """
    result = _verify_b64_body_hmac(req, secrets, "intuit-signature")
    if not result.ok:
        return result
    return _ok(_json_event_id(_json_body(req), "id") or _header_id(req))


_HUBSPOT_DECODES = {
    "%3a": ":",
    "%2f": "/",
    "%3f": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2a": "*",
    "%2c": ",",
    "%3b": ";",
}
_HUBSPOT_DECODE_RE = re.compile("|".join(re.escape(k) for k in _HUBSPOT_DECODES), re.IGNORECASE)


def _hubspot_uri_variants(url: str) -> list[str]:
    """The URL as given, and with the escapes HubSpot decodes before signing."""
    decoded = _HUBSPOT_DECODE_RE.sub(lambda m: _HUBSPOT_DECODES[m.group(0).lower()], url)
    return [url] if decoded == url else [url, decoded]


def _verify_hubspot(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float
) -> VerificationResult:
    """HubSpot v3: base64 HMAC-SHA256(client secret, method + URI + body + timestamp).

    ``X-HubSpot-Request-Timestamp`` is in milliseconds; requests older than
    five minutes are rejected (as HubSpot's own library does). The URI is the
    full public URL including the query string.
    """
    keys = _usable_secrets(secrets)
    if not keys:
        return _fail("no secret configured")
    header = req.header("X-HubSpot-Signature-v3")
    raw_timestamp = req.header("X-HubSpot-Request-Timestamp")
    if not header or not raw_timestamp:
        return _fail("missing HubSpot signature headers")
    timestamp_ms = _parse_timestamp(raw_timestamp)
    if timestamp_ms is None:
        return _fail("invalid timestamp")
    tolerance = _tolerance(config, DEFAULT_TOLERANCE_SECONDS) or DEFAULT_TOLERANCE_SECONDS
    if now * 1000 - timestamp_ms > tolerance * 1000:
        return _fail("timestamp too old")
    provided = _b64decode(header)
    if not provided:
        return _fail("malformed signature")
    method = req.method.upper().encode("utf-8", "surrogatepass")
    tail = req.body + raw_timestamp.strip().encode("ascii")
    for uri in _hubspot_uri_variants(req.url):
        message = method + uri.encode("utf-8", "surrogatepass") + tail
        for secret in keys:
            expected = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
            if _eq(expected, provided):
                return _ok(_json_event_id(_json_body(req), "eventId") or _header_id(req))
    return _fail("signature mismatch")


def _verify_graph(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float
) -> VerificationResult:
    """Microsoft Graph: no signature; every notification must echo our clientState.

    Each item of the JSON ``value`` array must carry a ``clientState`` equal
    to ``config["clientState"]`` or to one of the webhook's secrets. One
    mismatching item fails the whole request (it may be a forgery mixed in).
    """
    candidates = [c for c in [config.get("clientState"), *secrets] if isinstance(c, str) and c]
    if not candidates:
        return _fail("no clientState configured")
    data = _json_body(req)
    if not isinstance(data, dict):
        return _fail("body is not a JSON object")
    items = data.get("value")
    if not isinstance(items, list) or not items:
        return _fail("no notifications in body")
    for item in items:
        if not isinstance(item, dict):
            return _fail("malformed notification")
        state = item.get("clientState")
        if not isinstance(state, str) or not state:
            return _fail("missing clientState")
        if not any(_eq(state, candidate) for candidate in candidates):
            return _fail("clientState mismatch")
    return _ok(_header_id(req))


def _load_ec_public_key(text: str) -> ec.EllipticCurvePublicKey | None:
    """Load a P-256 public key from PEM or from base64 DER (SubjectPublicKeyInfo)."""
    try:
        stripped = text.strip()
        if "-----BEGIN" in stripped:
            key = load_pem_public_key(stripped.encode("ascii"))
        else:
            der = _b64decode("".join(stripped.split()))
            if not der:
                return None
            key = load_der_public_key(der)
    except (ValueError, TypeError, UnicodeError):
        return None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        return None
    return key


def _verify_sendgrid(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float
) -> VerificationResult:
    """SendGrid signed Event Webhook: ECDSA P-256 / SHA-256 over timestamp + body.

    The signature header holds a base64 DER ECDSA signature; the signed bytes
    are the ``X-Twilio-Email-Event-Webhook-Timestamp`` value followed by the
    raw body. The verification key is ``config["publicKey"]`` (base64 DER as
    SendGrid shows it, or PEM); entries of ``secrets`` that parse as keys are
    tried as well so a key can be rotated. SendGrid documents no replay
    window, so the timestamp is only checked when ``toleranceSeconds`` is set.
    """
    header = req.header("X-Twilio-Email-Event-Webhook-Signature")
    raw_timestamp = req.header("X-Twilio-Email-Event-Webhook-Timestamp")
    if not header or raw_timestamp is None:
        return _fail("missing SendGrid signature headers")
    sources = [c for c in [config.get("publicKey"), *secrets] if isinstance(c, str) and c]
    keys = [k for k in (_load_ec_public_key(s) for s in sources) if k is not None]
    if not keys:
        return _fail("no valid public key configured")
    tolerance = _tolerance(config, None)
    if tolerance is not None:
        timestamp = _parse_timestamp(raw_timestamp)
        if timestamp is None:
            return _fail("invalid timestamp")
        if abs(now - timestamp) > tolerance:
            return _fail("timestamp outside tolerance")
    signature = _b64decode(header)
    if not signature:
        return _fail("malformed signature")
    message = raw_timestamp.encode("utf-8", "surrogatepass") + req.body
    for key in keys:
        try:
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            continue
        except (ValueError, TypeError):
            continue
        return _ok(_json_event_id(_json_body(req), "sg_event_id") or _header_id(req))
    return _fail("signature mismatch")


_GOOGLE_REQUIRED = ("X-Goog-Channel-ID", "X-Goog-Channel-Token", "X-Goog-Resource-State")


def _google_token_ok(req: InboundRequest, keys: Sequence[str]) -> bool:
    token = req.header("X-Goog-Channel-Token")
    return bool(token) and any(_eq(token, key) for key in keys)


def _verify_google_channel(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float
) -> VerificationResult:
    """Google push channels (Calendar, Drive): nothing is signed; the channel was
    created with ``token`` = the webhook's secret and Google echoes it in
    ``X-Goog-Channel-Token`` on every notification (compared timing-safe).

    The dedupe id is the channel id with ``X-Goog-Message-Number`` (numbers
    grow per channel), so a repeated notification is processed once.
    """
    keys = _usable_secrets(secrets)
    if not keys:
        return _fail("no secret configured")
    if any(req.header(name) is None for name in _GOOGLE_REQUIRED) or not req.header("X-Goog-Channel-ID"):
        return _fail("missing Google channel headers")
    if not _google_token_ok(req, keys):
        return _fail("channel token mismatch")
    raw_number = req.header("X-Goog-Message-Number")
    if raw_number is None:
        return _ok(None)
    number = _parse_timestamp(raw_number)
    if number is None:
        return _fail("invalid message number")
    return _ok(_normalise_id(f"goog:{req.header('X-Goog-Channel-ID').strip()}:{number}"))


def _audience_ok(aud: Any, url: str) -> bool:
    """monday's ``aud`` is the endpoint URL: the public URL, with or without its query."""
    allowed = {url, url.split("?", 1)[0]}
    values = aud if isinstance(aud, list) else [aud]
    return bool(values) and all(isinstance(v, str) for v in values) and any(
        _eq(v, candidate) for v in values for candidate in allowed
    )


def _verify_monday(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float
) -> VerificationResult:
    """monday.com: ``Authorization: <JWT>`` (HS256) signed with the app's signing secret.

    Checked with PyJWT: the signature (HS256 only, so ``none`` or another
    algorithm never passes), ``exp`` (required) and ``nbf`` against ``now``
    with 30 s of clock skew, and ``aud`` - when present - against the
    webhook's public URL (monday sets it to the endpoint URL). The JWT does
    not cover the body; the dedupe id is the event's ``triggerUuid``.
    Webhooks made with a personal API token carry no JWT and cannot pass.
    """
    keys = _usable_secrets(secrets)
    if not keys:
        return _fail("no secret configured")
    header = req.header("Authorization")
    if not header or not header.strip():
        return _fail("missing Authorization header")
    token = _strip_prefix(header.strip(), "bearer ").strip()
    if len(token) > _MAX_JWT_LENGTH or token.count(".") != 2 or not token.isascii():
        return _fail("malformed token")
    options = {"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False, "verify_iss": False}
    claims = None
    for secret in keys:
        try:
            claims = jwt.decode(token, secret, algorithms=["HS256"], options=options)
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidAlgorithmError:
            return _fail("unsupported token algorithm")
        except jwt.InvalidTokenError:
            return _fail("malformed token")
        break
    if not isinstance(claims, dict):
        return _fail("signature mismatch")
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return _fail("token has no exp")
    if now > exp + MONDAY_LEEWAY_SECONDS:
        return _fail("token expired")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and not isinstance(nbf, bool) and nbf > now + MONDAY_LEEWAY_SECONDS:
        return _fail("token not yet valid")
    if "aud" in claims and not _audience_ok(claims["aud"], req.url):
        return _fail("token audience mismatch")
    data = _json_body(req)
    event = data.get("event") if isinstance(data, dict) else None
    trigger = _normalise_id(event.get("triggerUuid")) if isinstance(event, dict) else None
    return _ok(f"monday:{trigger}" if trigger else None)


def _payplus_compact(body: bytes) -> bytes | None:
    """The body as PayPlus' sample hashes it: ``JSON.stringify(JSON.parse(body))``."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        return None


def _verify_payplus(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float
) -> VerificationResult:
    """PayPlus callbacks: ``hash: <base64 HMAC-SHA256(secret key, body)>``.

    The raw body is tried first; PayPlus' own sample hashes the compact
    re-serialisation of the parsed JSON, so that is tried next. PayPlus
    sends no timestamp and no delivery id: the dedupe id is a hash of the
    signed bytes. (``user-agent: PayPlus`` is sent too but proves nothing.)
    """
    keys = _usable_secrets(secrets)
    if not keys:
        return _fail("no secret configured")
    header = req.header("hash")
    if not header:
        return _fail("missing hash header")
    provided = _b64decode(header)
    if not provided:
        return _fail("malformed signature")
    messages = [req.body]
    compact = _payplus_compact(req.body)
    if compact is not None and compact != req.body:
        messages.append(compact)
    for message in messages:
        for secret in keys:
            expected = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
            if _eq(expected, provided):
                return _ok(_body_id(message))
    return _fail("signature mismatch")


def _verify_none(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float
) -> VerificationResult:
    """No authentication at all (URL secrecy only); the reason says so for logs."""
    return VerificationResult(ok=True, reason="unauthenticated", dedupe_id=_header_id(req))


#: Scheme name -> verifier. Explicit so adding a provider is a visible, reviewed change.
VERIFIERS: dict[str, Verifier] = {
    "hmac": _verify_hmac,
    "standard": _verify_standard,
    "stripe": _verify_stripe,
    "twilio": _verify_twilio,
    "meta": _verify_meta,
    "dropbox": _verify_dropbox,
    "graph": _verify_graph,
    "hubspot": _verify_hubspot,
    "xero": _verify_xero,
    "quickbooks": _verify_quickbooks,
    "sendgrid": _verify_sendgrid,
    "google_channel_token": _verify_google_channel,
    "monday_jwt": _verify_monday,
    "payplus": _verify_payplus,
    "none": _verify_none,
}

#: Every scheme name, in a stable order (for choices in forms and the API).
SCHEMES: tuple[str, ...] = tuple(VERIFIERS)

_DESCRIPTIONS: dict[str, str] = {
    "hmac": "Hex HMAC-SHA256 of the body in X-Webhook-Signature (optional sha256= prefix), "
    "or Standard Webhooks headers.",
    "standard": "Standard Webhooks: webhook-id, webhook-timestamp and v1 signatures, 5-minute window.",
    "stripe": "Stripe-Signature header: HMAC-SHA256 of timestamp and body, 5-minute window.",
    "twilio": "X-Twilio-Signature: HMAC of the URL and sorted form fields (bodySHA256 for JSON).",
    "meta": "Meta / WhatsApp X-Hub-Signature-256 (sha256=hex HMAC of the body) with hub.challenge check.",
    "dropbox": "X-Dropbox-Signature: hex HMAC-SHA256 of the body with the app secret; challenge echo.",
    "graph": "Microsoft Graph: clientState in every notification must match; validationToken echo.",
    "hubspot": "HubSpot v3: base64 HMAC-SHA256 of method, URL, body and timestamp, 5-minute window.",
    "xero": "x-xero-signature: base64 HMAC-SHA256 of the body with the webhook key (intent to receive).",
    "quickbooks": "intuit-signature: base64 HMAC-SHA256 of the body with the verifier token.",
    "sendgrid": "SendGrid signed Event Webhook: ECDSA P-256 signature of timestamp and body.",
    "google_channel_token": "Google push channel: X-Goog-Channel-Token must equal the secret; sync acknowledged.",
    "monday_jwt": "monday.com: HS256 JWT in Authorization signed with the signing secret; challenge echo.",
    "payplus": "PayPlus: hash header = base64 HMAC-SHA256 of the body with the secret key.",
    "none": "No verification: anyone who knows the URL can post (not recommended).",
}


def _lookup(scheme: str) -> Verifier:
    verifier = VERIFIERS.get(scheme)
    if verifier is None:
        raise ValueError(f"unknown verification scheme: {scheme!r}")
    return verifier


def verify(
    scheme: str,
    req: InboundRequest,
    secrets: list[str],
    config: Mapping[str, Any] | None,
    now: float | None = None,
) -> VerificationResult:
    """Check that ``req`` was sent by the holder of one of ``secrets``.

    ``secrets`` holds the current secret first and possibly a previous one
    still valid during rotation; any match passes. ``now`` (Unix seconds)
    exists so tests and replays can use a fixed clock. An unknown ``scheme``
    is a programming/configuration error and raises ``ValueError``; anything
    wrong with the request itself gives ``ok=False``. As a last line of
    defence an unexpected exception inside a verifier is also turned into
    ``ok=False`` so a crafted request can never produce a 500.
    """
    verifier = _lookup(scheme)
    current = time.time() if now is None else float(now)
    try:
        return verifier(req, list(secrets or []), dict(config or {}), current)
    except Exception:  # noqa: BLE001 - verification must fail closed, never raise
        return _fail("malformed request")


# ---------------------------------------------------------------------------
# Handshakes
# ---------------------------------------------------------------------------

Handshake = Callable[[InboundRequest, Sequence[str], Mapping[str, Any]], HandshakeResponse | None]


def _echo(value: str) -> HandshakeResponse:
    """200 text/plain echo of a challenge (with nosniff), or 400 if absurdly long."""
    if len(value) > _MAX_CHALLENGE_LENGTH:
        return HandshakeResponse(400, b"challenge too long", _TEXT_PLAIN, dict(_NOSNIFF))
    return HandshakeResponse(200, value.encode("utf-8", "surrogatepass"), _TEXT_PLAIN, dict(_NOSNIFF))


def _meta_handshake(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any]
) -> HandshakeResponse | None:
    """Meta subscription check: GET ``hub.mode=subscribe&hub.verify_token=..&hub.challenge=..``.

    Answers the challenge only when the verify token equals
    ``config["verifyToken"]``; any other ``hub.*`` GET gets 403. A GET without
    ``hub.*`` parameters is not a handshake (``None``).
    """
    if req.method.upper() != "GET":
        return None
    mode = req.query_param("hub.mode")
    token = req.query_param("hub.verify_token")
    challenge = req.query_param("hub.challenge")
    if mode is None and token is None and challenge is None:
        return None
    expected = config.get("verifyToken")
    if (
        mode == "subscribe"
        and challenge is not None
        and token is not None
        and isinstance(expected, str)
        and expected
        and _eq(token, expected)
    ):
        return _echo(challenge)
    return HandshakeResponse(403, b"verification failed", _TEXT_PLAIN, dict(_NOSNIFF))


def _dropbox_handshake(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any]
) -> HandshakeResponse | None:
    """Dropbox URL check: GET ``?challenge=..`` echoed as text/plain with nosniff."""
    if req.method.upper() != "GET":
        return None
    challenge = req.query_param("challenge")
    return None if challenge is None else _echo(challenge)


def _graph_handshake(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any]
) -> HandshakeResponse | None:
    """Graph subscription validation: ``?validationToken=..`` echoed decoded, text/plain."""
    if req.method.upper() not in ("GET", "POST"):
        return None
    token = req.query_param("validationToken")
    return None if token is None else _echo(token)


def _google_handshake(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any]
) -> HandshakeResponse | None:
    """Google's first message on a new channel (``X-Goog-Resource-State: sync``) is
    acknowledged with an empty 200 and not processed - when its token is right;
    otherwise it goes on to verification, which refuses it."""
    state = (req.header("X-Goog-Resource-State") or "").strip().lower()
    if req.method.upper() != "POST" or state != "sync":
        return None
    if not _google_token_ok(req, _usable_secrets(secrets)):
        return None
    return HandshakeResponse(200, b"", _TEXT_PLAIN, dict(_NOSNIFF))


def _monday_handshake(
    req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any]
) -> HandshakeResponse | None:
    """monday URL verification: POST ``{"challenge": "…"}`` answered 200 with the same JSON."""
    if req.method.upper() != "POST" or b"challenge" not in req.body[:64]:
        return None
    data = _json_body(req)
    if not isinstance(data, dict) or set(data) != {"challenge"} or not isinstance(data["challenge"], str):
        return None
    challenge = data["challenge"]
    if len(challenge) > _MAX_CHALLENGE_LENGTH:
        return HandshakeResponse(400, b"challenge too long", _TEXT_PLAIN, dict(_NOSNIFF))
    body = json.dumps({"challenge": challenge}).encode("ascii")
    return HandshakeResponse(200, body, _JSON, dict(_NOSNIFF))


#: Scheme name -> handshake; schemes absent here never need one.
HANDSHAKES: dict[str, Handshake] = {
    "meta": _meta_handshake,
    "dropbox": _dropbox_handshake,
    "graph": _graph_handshake,
    "google_channel_token": _google_handshake,
    "monday_jwt": _monday_handshake,
}


def handshake(
    scheme: str,
    req: InboundRequest,
    secrets: list[str],
    config: Mapping[str, Any] | None,
) -> HandshakeResponse | None:
    """Return the answer to a URL-validation request, or ``None`` to go on normally.

    Call it before :func:`verify`: when it returns a response, send that
    response as-is (status, body, content type and headers) and do not store
    or process the request. Unknown schemes raise ``ValueError`` like
    :func:`verify`.
    """
    _lookup(scheme)
    fn = HANDSHAKES.get(scheme)
    if fn is None:
        return None
    try:
        return fn(req, list(secrets or []), dict(config or {}))
    except Exception:  # noqa: BLE001 - a malformed probe must not become a 500
        return None


def describe(scheme: str) -> str:
    """One-line, human-readable description of ``scheme`` for the UI."""
    _lookup(scheme)
    return _DESCRIPTIONS[scheme]
