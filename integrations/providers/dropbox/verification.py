"""Dropbox webhooks: ``X-Dropbox-Signature: <hex HMAC-SHA256(app secret, body)>`` and the
``?challenge=`` URL check.

https://www.dropbox.com/developers/reference/webhooks
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.signatures import HandshakeResponse, InboundRequest, Sample, Scheme, VerificationResult
from core.signatures.checks import echo, hex_hmac_sha256, verify_hex_body_hmac


def verify(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float) -> VerificationResult:
    return verify_hex_body_hmac(req, secrets, "X-Dropbox-Signature", "")


def handshake(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any]) -> HandshakeResponse | None:
    """Dropbox URL check: GET ``?challenge=..`` echoed as text/plain with nosniff."""
    if req.method.upper() != "GET":
        return None
    challenge = req.query_param("challenge")
    return None if challenge is None else echo(challenge)


def sign_test(sample: Sample) -> dict[str, str]:
    return {"X-Dropbox-Signature": hex_hmac_sha256(sample.secret, sample.body)}


SCHEME = Scheme(
    name="dropbox",
    description="X-Dropbox-Signature: hex HMAC-SHA256 of the body with the app secret; challenge echo.",
    verify=verify,
    handshake=handshake,
    sign_test=sign_test,
)
