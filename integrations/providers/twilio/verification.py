"""Twilio's request signature: ``X-Twilio-Signature`` = base64 HMAC(auth token, URL + sorted params).

https://www.twilio.com/docs/usage/webhooks/webhooks-security - tested against
Twilio's ``RequestValidator``. The hub cannot sign a test request for Twilio
(the signature covers the form fields Twilio sends), so there is no test signer.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from core.signatures import InboundRequest, Scheme, VerificationResult, fail, ok
from core.signatures.checks import GENERIC_ID_HEADERS, b64decode, eq, header_id, usable_secrets

_ALGORITHMS: dict[str, Callable[..., Any]] = {
    "HMAC_SHA1": hashlib.sha1,
    "HMAC_SHA256": hashlib.sha256,
}


def _algorithm(settings_header: str | None) -> str:
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


def verify(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float) -> VerificationResult:
    """Form requests sign the full URL followed by every POST parameter as
    ``name + value``, names sorted (case-sensitive), repeated values sorted.
    JSON requests carry ``bodySHA256=<hex sha256(body)>`` in the URL: the body
    hash is checked and the signature covers the URL alone. HMAC-SHA1 is the
    default; ``X-Twilio-Webhooks-Signature-Settings`` may select HMAC-SHA256.
    """
    keys = usable_secrets(secrets)
    if not keys:
        return fail("no secret configured")
    header = req.header("X-Twilio-Signature")
    if not header:
        return fail("missing X-Twilio-Signature header")
    digest = _ALGORITHMS.get(_algorithm(req.header("X-Twilio-Webhooks-Signature-Settings")))
    if digest is None:
        return fail("unsupported signature algorithm")
    provided = b64decode(header)
    if not provided:
        return fail("malformed signature")

    try:
        url_query = parse_qs(urlsplit(req.url).query, keep_blank_values=True)
    except ValueError:
        return fail("invalid url")
    body_hashes = url_query.get("bodySHA256")
    suffix = ""
    if body_hashes:
        actual = hashlib.sha256(req.body).hexdigest()
        if not eq(actual, body_hashes[0].strip().lower()):
            return fail("body hash mismatch")
    else:
        params = req.form_params()
        suffix = "".join(name + value for name in sorted(params) for value in sorted(set(params[name])))

    for url in _url_port_variants(req.url):
        message = (url + suffix).encode("utf-8", "surrogatepass")
        for secret in keys:
            expected = hmac.new(secret.encode("utf-8"), message, digest).digest()
            if eq(expected, provided):
                return ok(header_id(req, ("I-Twilio-Idempotency-Token", *GENERIC_ID_HEADERS)))
    return fail("signature mismatch")


SCHEME = Scheme(
    name="twilio",
    description="X-Twilio-Signature: HMAC of the URL and sorted form fields (bodySHA256 for JSON).",
    verify=verify,
)
