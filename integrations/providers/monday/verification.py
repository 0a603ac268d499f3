"""monday.com webhooks: ``Authorization: <JWT>`` (HS256) signed with the app's signing
secret, and the POST ``{"challenge"}`` URL check answered with the same JSON.

Tokens are checked with PyJWT, and the tests make them with PyJWT.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import jwt

from core.signatures import HandshakeResponse, InboundRequest, Sample, Scheme, VerificationResult, fail, ok
from core.signatures.checks import (
    JSON,
    MAX_CHALLENGE_LENGTH,
    NOSNIFF,
    TEXT_PLAIN,
    eq,
    json_body,
    normalise_id,
    strip_prefix,
    usable_secrets,
)

# monday signing secrets are the provider's choice, not ours: PyJWT's advice to use
# 32+ byte HMAC keys would only fill the log.
warnings.filterwarnings("ignore", category=jwt.InsecureKeyLengthWarning)

#: Clock skew allowed on a monday JWT's ``exp``/``nbf``.
LEEWAY_SECONDS = 30
_MAX_JWT_LENGTH = 8192
_NO_CLAIM_CHECKS = {"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False,
                    "verify_iss": False}


def _audience_ok(aud: Any, url: str) -> bool:
    """monday's ``aud`` is the endpoint URL: the public URL, with or without its query."""
    allowed = {url, url.split("?", 1)[0]}
    values = aud if isinstance(aud, list) else [aud]
    return bool(values) and all(isinstance(v, str) for v in values) and any(
        eq(v, candidate) for v in values for candidate in allowed
    )


def verify(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float) -> VerificationResult:
    """Checked with PyJWT: the signature (HS256 only, so ``none`` or another
    algorithm never passes), ``exp`` (required) and ``nbf`` against ``now``
    with 30 s of clock skew, and ``aud`` - when present - against the
    webhook's public URL (monday sets it to the endpoint URL). The JWT does
    not cover the body; the dedupe id is the event's ``triggerUuid``.
    Webhooks made with a personal API token carry no JWT and cannot pass.
    """
    keys = usable_secrets(secrets)
    if not keys:
        return fail("no secret configured")
    header = req.header("Authorization")
    if not header or not header.strip():
        return fail("missing Authorization header")
    token = strip_prefix(header.strip(), "bearer ").strip()
    if len(token) > _MAX_JWT_LENGTH or token.count(".") != 2 or not token.isascii():
        return fail("malformed token")
    claims = None
    for secret in keys:
        try:
            claims = jwt.decode(token, secret, algorithms=["HS256"], options=_NO_CLAIM_CHECKS)
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidAlgorithmError:
            return fail("unsupported token algorithm")
        except jwt.InvalidTokenError:
            return fail("malformed token")
        break
    if not isinstance(claims, dict):
        return fail("signature mismatch")
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return fail("token has no exp")
    if now > exp + LEEWAY_SECONDS:
        return fail("token expired")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and not isinstance(nbf, bool) and nbf > now + LEEWAY_SECONDS:
        return fail("token not yet valid")
    if "aud" in claims and not _audience_ok(claims["aud"], req.url):
        return fail("token audience mismatch")
    data = json_body(req)
    event = data.get("event") if isinstance(data, dict) else None
    trigger = normalise_id(event.get("triggerUuid")) if isinstance(event, dict) else None
    return ok(f"monday:{trigger}" if trigger else None)


def handshake(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any]) -> HandshakeResponse | None:
    """monday URL verification: POST ``{"challenge": "…"}`` answered 200 with the same JSON."""
    if req.method.upper() != "POST" or b"challenge" not in req.body[:64]:
        return None
    data = json_body(req)
    if not isinstance(data, dict) or set(data) != {"challenge"} or not isinstance(data["challenge"], str):
        return None
    challenge = data["challenge"]
    if len(challenge) > MAX_CHALLENGE_LENGTH:
        return HandshakeResponse(400, b"challenge too long", TEXT_PLAIN, dict(NOSNIFF))
    body = json.dumps({"challenge": challenge}).encode("ascii")
    return HandshakeResponse(200, body, JSON, dict(NOSNIFF))


def sign_test(sample: Sample) -> dict[str, str]:
    claims = {"aud": sample.url, "iat": sample.now, "exp": sample.now + 300}
    return {"Authorization": jwt.encode(claims, sample.secret, algorithm="HS256")}


SCHEME = Scheme(
    name="monday_jwt",
    description="monday.com: HS256 JWT in Authorization signed with the signing secret; challenge echo.",
    verify=verify,
    handshake=handshake,
    sign_test=sign_test,
)
