"""QuickBooks webhooks: ``intuit-signature: <base64 HMAC-SHA256(verifier token, body)>``.

CloudEvents payloads carry an ``id`` per event, used for de-duplication.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.signatures import InboundRequest, Sample, Scheme, VerificationResult, ok
from core.signatures.checks import b64_hmac_sha256, header_id, json_body, json_event_id, verify_b64_body_hmac


def verify(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float) -> VerificationResult:
    result = verify_b64_body_hmac(req, secrets, "intuit-signature")
    if not result.ok:
        return result
    return ok(json_event_id(json_body(req), "id") or header_id(req))


def sign_test(sample: Sample) -> dict[str, str]:
    return {"intuit-signature": b64_hmac_sha256(sample.secret, sample.body)}


SCHEME = Scheme(
    name="quickbooks",
    description="intuit-signature: base64 HMAC-SHA256 of the body with the verifier token.",
    verify=verify,
    sign_test=sign_test,
)
