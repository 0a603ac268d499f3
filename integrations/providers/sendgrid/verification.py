"""SendGrid's signed Event Webhook: ECDSA P-256 / SHA-256 over timestamp + body.

https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
- tested against SendGrid's own ``EventWebhook`` helper. The hub holds only the
public key, so it cannot sign a test request (no test signer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from core.signatures import InboundRequest, Scheme, VerificationResult, fail, ok
from core.signatures.checks import b64decode, header_id, json_body, json_event_id, parse_timestamp, tolerance


def load_public_key(text: str) -> ec.EllipticCurvePublicKey | None:
    """Load a P-256 public key from PEM or from base64 DER (SubjectPublicKeyInfo)."""
    try:
        stripped = text.strip()
        if "-----BEGIN" in stripped:
            key = load_pem_public_key(stripped.encode("ascii"))
        else:
            der = b64decode("".join(stripped.split()))
            if not der:
                return None
            key = load_der_public_key(der)
    except (ValueError, TypeError, UnicodeError):
        return None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        return None
    return key


def verify(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float) -> VerificationResult:
    """The signature header holds a base64 DER ECDSA signature; the signed bytes
    are the ``X-Twilio-Email-Event-Webhook-Timestamp`` value followed by the
    raw body. The verification key is ``config["publicKey"]`` (base64 DER as
    SendGrid shows it, or PEM); entries of ``secrets`` that parse as keys are
    tried as well so a key can be rotated. SendGrid documents no replay
    window, so the timestamp is only checked when ``toleranceSeconds`` is set.
    """
    header = req.header("X-Twilio-Email-Event-Webhook-Signature")
    raw_timestamp = req.header("X-Twilio-Email-Event-Webhook-Timestamp")
    if not header or raw_timestamp is None:
        return fail("missing SendGrid signature headers")
    sources = [c for c in [config.get("publicKey"), *secrets] if isinstance(c, str) and c]
    keys = [k for k in (load_public_key(s) for s in sources) if k is not None]
    if not keys:
        return fail("no valid public key configured")
    window = tolerance(config, None)
    if window is not None:
        timestamp = parse_timestamp(raw_timestamp)
        if timestamp is None:
            return fail("invalid timestamp")
        if abs(now - timestamp) > window:
            return fail("timestamp outside tolerance")
    signature = b64decode(header)
    if not signature:
        return fail("malformed signature")
    message = raw_timestamp.encode("utf-8", "surrogatepass") + req.body
    for key in keys:
        try:
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError, TypeError):
            continue
        return ok(json_event_id(json_body(req), "sg_event_id") or header_id(req))
    return fail("signature mismatch")


def config_error(config: Mapping[str, Any], new_secrets: Sequence[str | None]) -> str | None:
    """A webhook of this scheme needs a public key, in its config or as its (new) secret."""
    candidates = [config.get("publicKey"), *new_secrets]
    if any(isinstance(c, str) and load_public_key(c) for c in candidates):
        return None
    return "sendgrid needs publicKey: the verification key SendGrid shows (base64)"


SCHEME = Scheme(
    name="sendgrid",
    description="SendGrid signed Event Webhook: ECDSA P-256 signature of timestamp and body.",
    verify=verify,
    config_error=config_error,
)
