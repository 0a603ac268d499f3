"""Signature primitives shared by incoming verification and outgoing delivery.

Why a separate, pure module: the same few byte-level rules are needed by the
incoming endpoint (checking what senders sent), by the outgoing dispatcher
(signing what we send) and by tests. Keeping them free of Django and of the
database means they can be checked against published test vectors and the
providers' own libraries without any project setup.

Two schemes live here:

* the seed's scheme (contract C6/C7): ``X-Webhook-Signature`` carries the hex
  HMAC-SHA256 of the exact body bytes, keyed with the UTF-8 bytes of the
  secret string as stored (no decoding of any kind) -
  :func:`core.signatures.checks.hex_hmac_sha256`, re-exported here;
* Standard Webhooks (https://www.standardwebhooks.com, spec 1.0.0): the key is
  the base64 payload of a ``whsec_`` secret, the signed content is
  ``"{msg_id}.{timestamp}.{body}"`` and the header value is ``v1,<base64>``;
  several space-separated signatures allow secret rotation. The signature is
  the ``standardwebhooks`` library's (:meth:`Webhook.sign`); only the key
  derivation (:func:`whsec_key_bytes`, which keeps non-``whsec_`` secrets
  usable) and the rotation headers are ours.
"""

from __future__ import annotations

import base64
import binascii
import secrets as _secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from core.signatures.checks import hex_hmac_sha256

__all__ = [
    "WHSEC_PREFIX",
    "STANDARD_ID_HEADER",
    "STANDARD_TIMESTAMP_HEADER",
    "STANDARD_SIGNATURE_HEADER",
    "hex_hmac_sha256",
    "generate_whsec",
    "whsec_key_bytes",
    "standard_signature",
    "standard_headers",
]

#: Prefix Standard Webhooks puts in front of a base64-encoded symmetric key.
WHSEC_PREFIX = "whsec_"

#: Header names as the Standard Webhooks spec writes them (lower case; HTTP
#: header names are case-insensitive, receivers must not care).
STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"

#: Size of the random key behind a generated ``whsec_`` secret. The spec asks
#: for 24-64 bytes; 32 bytes matches the HMAC-SHA256 block security level.
_GENERATED_KEY_BYTES = 32


def generate_whsec() -> str:
    """Return a new ``whsec_`` secret wrapping 32 random bytes (standard base64).

    The format is the Standard Webhooks one, so the same secret can be pasted
    into any Standard Webhooks library on the receiving side.
    """
    key = _secrets.token_bytes(_GENERATED_KEY_BYTES)
    return WHSEC_PREFIX + base64.b64encode(key).decode("ascii")


def whsec_key_bytes(secret: str) -> bytes:
    """Return the HMAC key Standard Webhooks derives from ``secret``.

    * ``whsec_<base64>``: the base64 part is decoded (missing ``=`` padding is
      tolerated, as the official libraries do); that is the spec's rule.
    * Anything else - no ``whsec_`` prefix, characters outside the standard
      base64 alphabet, an impossible length, or an empty key after the
      prefix - falls back to the UTF-8 bytes of the whole secret string.

    Why the fallback (and why it differs from the official libraries, which
    base64-decode unprefixed secrets too): secrets in this hub are opaque
    strings typed or pasted by users, and many are not base64 at all. Using
    their raw bytes keeps every secret usable and never raises at signing or
    verification time; ``whsec_`` secrets - the only ones we generate - stay
    byte-for-byte compatible with Standard Webhooks.
    """
    if secret.startswith(WHSEC_PREFIX):
        encoded = secret[len(WHSEC_PREFIX) :].rstrip("=")
        if encoded and len(encoded) % 4 != 1:
            padded = encoded + "=" * (-len(encoded) % 4)
            try:
                key = base64.b64decode(padded, validate=True)
            except (binascii.Error, ValueError):
                key = b""
            if key:
                return key
    return secret.encode("utf-8")


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return one Standard Webhooks signature entry, ``v1,<base64>``, made by the
    ``standardwebhooks`` library with the key :func:`whsec_key_bytes` derives.

    The library signs text (``{msg_id}.{timestamp}.{body}`` encoded as UTF-8),
    as every official Standard Webhooks library does, so ``body`` must be UTF-8;
    anything else raises ``UnicodeDecodeError`` (our own bodies are JSON).
    """
    when = datetime.fromtimestamp(int(timestamp), tz=UTC)
    return Webhook(whsec_key_bytes(secret)).sign(msg_id, when, body.decode("utf-8"))


def standard_headers(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Return the three Standard Webhooks headers for one delivery attempt.

    ``secrets`` lists every key currently valid for the endpoint (the current
    one first, then any previous one still inside its rotation grace period);
    one ``v1,`` entry per secret is emitted, space-separated, so a receiver
    that still knows only the old key keeps accepting our requests.
    ``msg_id`` should be the stable delivery id (identical on every retry) so
    receivers can deduplicate; ``timestamp`` is the attempt time in Unix
    seconds. Empty secrets are skipped; if none is left a ``ValueError`` is
    raised, because sending an unsigned request while claiming to sign it
    would be a silent security bug.
    """
    usable = [s for s in secrets if s]
    if not usable:
        raise ValueError("at least one non-empty secret is required to sign")
    signature = " ".join(standard_signature(s, msg_id, timestamp, body) for s in usable)
    return {
        STANDARD_ID_HEADER: msg_id,
        STANDARD_TIMESTAMP_HEADER: str(int(timestamp)),
        STANDARD_SIGNATURE_HEADER: signature,
    }
