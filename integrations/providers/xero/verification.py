"""Xero webhooks: ``x-xero-signature: <base64 HMAC-SHA256(webhook key, body)>``.

https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/
Xero's "intent to receive" needs no handshake: Xero sends signed and
deliberately mis-signed requests and expects 200 for the good ones and 401 for
the bad ones, which is what the endpoint answers for this scheme
(``accepted_status=200``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.signatures import InboundRequest, Sample, Scheme, VerificationResult, ok
from core.signatures.checks import b64_hmac_sha256, header_id, verify_b64_body_hmac


def verify(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float) -> VerificationResult:
    result = verify_b64_body_hmac(req, secrets, "x-xero-signature")
    return ok(header_id(req)) if result.ok else result


def sign_test(sample: Sample) -> dict[str, str]:
    return {"x-xero-signature": b64_hmac_sha256(sample.secret, sample.body)}


SCHEME = Scheme(
    name="xero",
    description="x-xero-signature: base64 HMAC-SHA256 of the body with the webhook key (intent to receive).",
    verify=verify,
    sign_test=sign_test,
    accepted_status=200,  # the intent-to-receive check insists on 200, not 202
)
