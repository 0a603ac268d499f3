"""The small byte-level checks every scheme is built from: timing-safe equality,
strict base64, bounded timestamps and ids, HMACs of the raw body, challenge echoes.

Each is pure and never raises on hostile input; the schemes (in the providers'
folders and in :mod:`webhooks.verification`) combine them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext_noop as N_

from core.signatures.request import InboundRequest
from core.signatures.scheme import HandshakeResponse, VerificationResult, fail, ok
from core.words import words

#: Replay window used by Standard Webhooks, Stripe and HubSpot (5 minutes).
DEFAULT_TOLERANCE_SECONDS = 300

#: Headers that commonly carry a sender's delivery id, tried in this order
#: when a scheme has no more specific id. ``webhook-id`` is Standard Webhooks';
#: ``X-Webhook-Delivery`` is what this hub itself sends (C7), so hub-to-hub
#: deliveries dedupe too.
GENERIC_ID_HEADERS: tuple[str, ...] = (
    "webhook-id",
    "svix-id",
    "X-Webhook-Delivery",
    "X-GitHub-Delivery",
    "X-Delivery-Id",
    "X-Request-Id",
    "Idempotency-Key",
)

# Upper bounds that keep hostile headers cheap to process.
MAX_SIGNATURE_ENTRIES = 32
MAX_CHALLENGE_LENGTH = 4096
_MAX_ID_LENGTH = 200
_TIMESTAMP_RE = re.compile(r"[0-9]{1,15}")

TEXT_PLAIN = "text/plain; charset=utf-8"
JSON = "application/json"
NOSNIFF = {"X-Content-Type-Options": "nosniff"}


def eq(a: str | bytes, b: str | bytes) -> bool:
    """Timing-safe equality for text or bytes (text compared as UTF-8 bytes).

    ``hmac.compare_digest`` refuses non-ASCII ``str`` with a TypeError, so
    everything is turned into bytes first; attacker-chosen header values can
    then never make a comparison raise.
    """
    a_bytes = a.encode("utf-8", "surrogatepass") if isinstance(a, str) else a
    b_bytes = b.encode("utf-8", "surrogatepass") if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)


def usable_secrets(secrets: Sequence[str]) -> list[str]:
    """Drop empty or non-text secrets: an empty HMAC key would accept forgeries."""
    return [s for s in secrets if isinstance(s, str) and s]


def b64decode(value: str) -> bytes | None:
    """Strict standard-base64 decode; ``None`` instead of an exception."""
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def tolerance(config: Mapping[str, Any], default: int | None) -> int | None:
    """Replay window from ``config["toleranceSeconds"]`` (positive int) or the default."""
    value = config.get("toleranceSeconds")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return default


def parse_timestamp(value: str | None) -> int | None:
    """Parse a non-negative integer timestamp header; ``None`` if malformed."""
    if value is None:
        return None
    value = value.strip()
    if not _TIMESTAMP_RE.fullmatch(value):
        return None
    return int(value)


def strip_prefix(value: str, prefix: str) -> str:
    """Remove ``prefix`` (case-insensitive) from ``value`` if present."""
    if value[: len(prefix)].lower() == prefix:
        return value[len(prefix) :]
    return value


def normalise_id(value: Any) -> str | None:
    """Turn a provider id into a bounded string (long ids are hashed)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    if not text:
        return None
    if len(text) > _MAX_ID_LENGTH:
        return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return text


def header_id(req: InboundRequest, names: Sequence[str] = GENERIC_ID_HEADERS) -> str | None:
    """First non-empty delivery-id header among ``names``."""
    for name in names:
        found = normalise_id(req.header(name))
        if found:
            return found
    return None


def body_id(signed: bytes) -> str:
    """Dedupe id for schemes that sign the body and nothing else (no delivery id, no
    timestamp): the same signed bytes again are a replay of the same request."""
    return "body:" + hashlib.sha256(signed).hexdigest()


def json_body(req: InboundRequest) -> Any:
    """Parsed JSON body, or ``None`` when the body is not JSON."""
    try:
        return json.loads(req.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def json_event_id(data: Any, key: str) -> str | None:
    """Event id(s) under ``key`` in a JSON object or in a JSON array of objects.

    A single event gives its own id. A batch (HubSpot, SendGrid, QuickBooks
    CloudEvents) gives ``batch:<sha256 of the ids>``, so a redelivery of the
    very same batch is recognised while different batches never collide.
    """
    if isinstance(data, dict):
        return normalise_id(data.get(key))
    if isinstance(data, list) and data:
        ids: list[str] = []
        for item in data:
            if not isinstance(item, dict):
                return None
            found = normalise_id(item.get(key))
            if found is None:
                return None
            ids.append(found)
        if len(ids) == 1:
            return ids[0]
        return "batch:" + hashlib.sha256(",".join(ids).encode("utf-8", "surrogatepass")).hexdigest()
    return None


def hmac_sha256(secret: str | bytes, message: bytes) -> bytes:
    """Raw HMAC-SHA256 of ``message`` keyed with the secret's UTF-8 bytes (no decoding)."""
    key = secret if isinstance(secret, bytes) else secret.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).digest()


def hex_hmac_sha256(secret: str | bytes, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``body`` keyed with the secret's UTF-8 bytes.

    This is the seed's signature (``X-Webhook-Signature``): the key is the
    secret string exactly as shown to the user, so a sender can reproduce it
    with one line in any language, without knowing about base64 or prefixes.
    """
    return hmac_sha256(secret, body).hex()


def b64_hmac_sha256(secret: str | bytes, message: bytes) -> str:
    """Base64 HMAC-SHA256 (Xero, QuickBooks, HubSpot, PayPlus): what their test senders put in a header."""
    return base64.b64encode(hmac_sha256(secret, message)).decode("ascii")


def verify_hex_body_hmac(
    req: InboundRequest, secrets: Sequence[str], header_name: str, prefix: str
) -> VerificationResult:
    """Hex HMAC-SHA256 of the raw body in ``header_name`` (optional ``prefix``)."""
    keys = usable_secrets(secrets)
    if not keys:
        return fail("no secret configured")
    header = req.header(header_name)
    if not header:
        return fail(words(N_("missing %(header)s header"), header=header_name))
    value = strip_prefix(header.strip(), prefix).strip().lower() if prefix else header.strip().lower()
    if not value:
        return fail("empty signature")
    if any(eq(hex_hmac_sha256(s, req.body), value) for s in keys):
        return ok(header_id(req))
    return fail("signature mismatch")


def verify_b64_body_hmac(req: InboundRequest, secrets: Sequence[str], header_name: str) -> VerificationResult:
    """Base64 HMAC-SHA256 of the raw body in ``header_name`` (no dedupe id: the caller picks one)."""
    keys = usable_secrets(secrets)
    if not keys:
        return fail("no secret configured")
    header = req.header(header_name)
    if not header:
        return fail(words(N_("missing %(header)s header"), header=header_name))
    provided = b64decode(header)
    if not provided:
        return fail("malformed signature")
    for secret in keys:
        if eq(hmac_sha256(secret, req.body), provided):
            return ok(None)
    return fail("signature mismatch")


def echo(value: str) -> HandshakeResponse:
    """200 text/plain echo of a challenge (with nosniff), or 400 if absurdly long."""
    if len(value) > MAX_CHALLENGE_LENGTH:
        return HandshakeResponse(400, b"challenge too long", TEXT_PLAIN, dict(NOSNIFF))
    return HandshakeResponse(200, value.encode("utf-8", "surrogatepass"), TEXT_PLAIN, dict(NOSNIFF))
