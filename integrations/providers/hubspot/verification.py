"""HubSpot's v3 request signature: base64 HMAC-SHA256(client secret, method + URI + body + timestamp).

https://developers.hubspot.com/docs/api/webhooks/validating-requests
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from core.signatures import InboundRequest, Sample, Scheme, VerificationResult, fail, ok
from core.signatures.checks import (
    DEFAULT_TOLERANCE_SECONDS,
    b64_hmac_sha256,
    b64decode,
    eq,
    header_id,
    hmac_sha256,
    json_body,
    json_event_id,
    parse_timestamp,
    tolerance,
    usable_secrets,
)

_DECODES = {
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
_DECODE_RE = re.compile("|".join(re.escape(k) for k in _DECODES), re.IGNORECASE)


def _uri_variants(url: str) -> list[str]:
    """The URL as given, and with the escapes HubSpot decodes before signing."""
    decoded = _DECODE_RE.sub(lambda m: _DECODES[m.group(0).lower()], url)
    return [url] if decoded == url else [url, decoded]


def verify(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float) -> VerificationResult:
    """``X-HubSpot-Request-Timestamp`` is in milliseconds; requests older than
    five minutes are rejected (as HubSpot's own library does). The URI is the
    full public URL including the query string.
    """
    keys = usable_secrets(secrets)
    if not keys:
        return fail("no secret configured")
    header = req.header("X-HubSpot-Signature-v3")
    raw_timestamp = req.header("X-HubSpot-Request-Timestamp")
    if not header or not raw_timestamp:
        return fail("missing HubSpot signature headers")
    timestamp_ms = parse_timestamp(raw_timestamp)
    if timestamp_ms is None:
        return fail("invalid timestamp")
    window = tolerance(config, DEFAULT_TOLERANCE_SECONDS) or DEFAULT_TOLERANCE_SECONDS
    if now * 1000 - timestamp_ms > window * 1000:
        return fail("timestamp too old")
    provided = b64decode(header)
    if not provided:
        return fail("malformed signature")
    method = req.method.upper().encode("utf-8", "surrogatepass")
    tail = req.body + raw_timestamp.strip().encode("ascii")
    for uri in _uri_variants(req.url):
        message = method + uri.encode("utf-8", "surrogatepass") + tail
        for secret in keys:
            if eq(hmac_sha256(secret, message), provided):
                return ok(json_event_id(json_body(req), "eventId") or header_id(req))
    return fail("signature mismatch")


def sign_test(sample: Sample) -> dict[str, str]:
    timestamp = str(sample.now * 1000)
    message = b"POST" + sample.url.encode() + sample.body + timestamp.encode()
    return {"X-HubSpot-Signature-v3": b64_hmac_sha256(sample.secret, message),
            "X-HubSpot-Request-Timestamp": timestamp}


SCHEME = Scheme(
    name="hubspot",
    description="HubSpot v3: base64 HMAC-SHA256 of method, URL, body and timestamp, 5-minute window.",
    verify=verify,
    sign_test=sign_test,
)
