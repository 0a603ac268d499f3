"""PayPlus callbacks: ``hash: <base64 HMAC-SHA256(secret key, body)>`` (as PayPlus'
validation sample computes it; no SDK exists to test against)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from core.signatures import InboundRequest, Sample, Scheme, VerificationResult, fail, ok
from core.signatures.checks import b64_hmac_sha256, b64decode, body_id, eq, hmac_sha256, usable_secrets


def _compact(body: bytes) -> bytes | None:
    """The body as PayPlus' sample hashes it: ``JSON.stringify(JSON.parse(body))``."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        return None


def verify(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float) -> VerificationResult:
    """The raw body is tried first; PayPlus' own sample hashes the compact
    re-serialisation of the parsed JSON, so that is tried next. PayPlus
    sends no timestamp and no delivery id: the dedupe id is a hash of the
    signed bytes. (``user-agent: PayPlus`` is sent too but proves nothing.)
    """
    keys = usable_secrets(secrets)
    if not keys:
        return fail("no secret configured")
    header = req.header("hash")
    if not header:
        return fail("missing hash header")
    provided = b64decode(header)
    if not provided:
        return fail("malformed signature")
    messages = [req.body]
    compact = _compact(req.body)
    if compact is not None and compact != req.body:
        messages.append(compact)
    for message in messages:
        for secret in keys:
            if eq(hmac_sha256(secret, message), provided):
                return ok(body_id(message))
    return fail("signature mismatch")


def sign_test(sample: Sample) -> dict[str, str]:
    return {"hash": b64_hmac_sha256(sample.secret, sample.body), "User-Agent": "PayPlus"}


SCHEME = Scheme(
    name="payplus",
    description="PayPlus: hash header = base64 HMAC-SHA256 of the body with the secret key.",
    verify=verify,
    sign_test=sign_test,
)
