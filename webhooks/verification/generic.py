"""The two generic schemes beside ``standard``: ``hmac`` (the seed's hex signature, C6)
and ``none`` (no authentication at all)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.signatures import InboundRequest, Sample, Scheme, VerificationResult, fail, ok
from core.signatures.checks import body_id, eq, header_id, hex_hmac_sha256, strip_prefix, usable_secrets
from core.words import Words
from webhooks.signing import STANDARD_SIGNATURE_HEADER
from webhooks.verification.standard import check_standard, window_of

#: Header carrying the seed's hex HMAC (contract C6) unless a webhook overrides it.
DEFAULT_SIGNATURE_HEADER = "X-Webhook-Signature"


def verify_hmac(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float) -> VerificationResult:
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
    keys = usable_secrets(secrets)
    if not keys:
        return fail("no secret configured")
    header_name = config.get("signatureHeader")
    if not isinstance(header_name, str) or not header_name.strip():
        header_name = DEFAULT_SIGNATURE_HEADER
    provided = req.header(header_name.strip())
    has_standard = req.header(STANDARD_SIGNATURE_HEADER) is not None
    if provided is None and not has_standard:
        return fail("missing signature header")

    first_reason: str | Words = ""
    if provided is not None:
        value = strip_prefix(provided.strip(), "sha256=").strip().lower()
        if value and any(eq(hex_hmac_sha256(s, req.body), value) for s in keys):
            return ok(body_id(req.body))
        first_reason = "signature mismatch" if value else "empty signature"
    if has_standard:
        result = check_standard(req, keys, now, window_of(config))
        if result.ok:
            return ok(result.dedupe_id or header_id(req))
        first_reason = first_reason or result.words or result.reason
    return fail(first_reason)


def sign_hmac(sample: Sample) -> dict[str, str]:
    return {DEFAULT_SIGNATURE_HEADER: hex_hmac_sha256(sample.secret, sample.body), "X-Request-Id": sample.msg_id}


def verify_none(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float) -> VerificationResult:
    """No authentication at all (URL secrecy only); the reason says so for logs."""
    return VerificationResult(ok=True, reason="unauthenticated", dedupe_id=header_id(req))


HMAC = Scheme(
    name="hmac",
    description="Hex HMAC-SHA256 of the body in X-Webhook-Signature (optional sha256= prefix), "
    "or Standard Webhooks headers.",
    verify=verify_hmac,
    sign_test=sign_hmac,
)

NONE = Scheme(
    name="none",
    description="No verification: anyone who knows the URL can post (not recommended).",
    verify=verify_none,
    sign_test=lambda sample: {},
)
