"""Stripe's webhook signature: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]``.

https://docs.stripe.com/webhooks#verify-manually - tested against Stripe's own SDK.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.signatures import InboundRequest, Sample, Scheme, VerificationResult, fail, ok
from core.signatures.checks import (
    DEFAULT_TOLERANCE_SECONDS,
    MAX_SIGNATURE_ENTRIES,
    eq,
    header_id,
    hex_hmac_sha256,
    json_body,
    json_event_id,
    parse_timestamp,
    tolerance,
    usable_secrets,
)


def verify(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float) -> VerificationResult:
    """The expected value is hex HMAC-SHA256 over ``"{t}.{raw body}"`` keyed with
    the ``whsec_...`` endpoint secret's UTF-8 bytes as-is (Stripe does not
    base64-decode it, unlike Standard Webhooks). Like Stripe's own library,
    only timestamps older than the tolerance are rejected.
    """
    keys = usable_secrets(secrets)
    if not keys:
        return fail("no secret configured")
    header = req.header("Stripe-Signature")
    if not header:
        return fail("missing Stripe-Signature header")
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(",")[: MAX_SIGNATURE_ENTRIES * 2]:
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            timestamps.append(value)
        elif key == "v1" and value.strip():
            signatures.append(value.strip().lower())
    timestamp = parse_timestamp(timestamps[0]) if len(timestamps) == 1 else None
    if timestamp is None:
        return fail("invalid timestamp")
    if not signatures:
        return fail("no v1 signature")
    window = tolerance(config, DEFAULT_TOLERANCE_SECONDS)
    if window is not None and now - timestamp > window:
        return fail("timestamp too old")
    signed = f"{timestamp}.".encode() + req.body
    for secret in keys:
        expected = hex_hmac_sha256(secret, signed)
        if any(eq(expected, candidate) for candidate in signatures):
            return ok(json_event_id(json_body(req), "id") or header_id(req))
    return fail("signature mismatch")


def sign_test(sample: Sample) -> dict[str, str]:
    signature = hex_hmac_sha256(sample.secret, f"{sample.now}.".encode() + sample.body)
    return {"Stripe-Signature": f"t={sample.now},v1={signature}"}


SCHEME = Scheme(
    name="stripe",
    description="Stripe-Signature header: HMAC-SHA256 of timestamp and body, 5-minute window.",
    verify=verify,
    sign_test=sign_test,
)
