"""Meta (WhatsApp Business) webhooks: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>``,
and the ``hub.challenge`` subscription check.

https://developers.facebook.com/docs/graph-api/webhooks/getting-started
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.signatures import HandshakeResponse, InboundRequest, Sample, Scheme, VerificationResult
from core.signatures.checks import NOSNIFF, TEXT_PLAIN, echo, eq, hex_hmac_sha256, verify_hex_body_hmac


def verify(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float) -> VerificationResult:
    return verify_hex_body_hmac(req, secrets, "X-Hub-Signature-256", "sha256=")


def handshake(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any]) -> HandshakeResponse | None:
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
        and eq(token, expected)
    ):
        return echo(challenge)
    return HandshakeResponse(403, b"verification failed", TEXT_PLAIN, dict(NOSNIFF))


def sign_test(sample: Sample) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + hex_hmac_sha256(sample.secret, sample.body)}


SCHEME = Scheme(
    name="meta",
    description="Meta / WhatsApp X-Hub-Signature-256 (sha256=hex HMAC of the body) with hub.challenge check.",
    verify=verify,
    handshake=handshake,
    sign_test=sign_test,
)
