"""Google push channels (Calendar, Drive): the ``google_channel_token`` scheme both
Google providers name.

https://developers.google.com/calendar/api/guides/push - nothing is signed; the
channel was created with ``token`` = the webhook's secret and Google echoes it
in ``X-Goog-Channel-Token`` on every notification.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.signatures import HandshakeResponse, InboundRequest, Sample, Scheme, VerificationResult, fail, ok
from core.signatures.checks import NOSNIFF, TEXT_PLAIN, eq, normalise_id, parse_timestamp, usable_secrets

_REQUIRED = ("X-Goog-Channel-ID", "X-Goog-Channel-Token", "X-Goog-Resource-State")


def _token_ok(req: InboundRequest, keys: Sequence[str]) -> bool:
    token = req.header("X-Goog-Channel-Token")
    return bool(token) and any(eq(token, key) for key in keys)


def verify(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float) -> VerificationResult:
    """The channel token is compared timing-safe. The dedupe id is the channel
    id with ``X-Goog-Message-Number`` (numbers grow per channel), so a
    repeated notification is processed once.
    """
    keys = usable_secrets(secrets)
    if not keys:
        return fail("no secret configured")
    if any(req.header(name) is None for name in _REQUIRED) or not req.header("X-Goog-Channel-ID"):
        return fail("missing Google channel headers")
    if not _token_ok(req, keys):
        return fail("channel token mismatch")
    raw_number = req.header("X-Goog-Message-Number")
    if raw_number is None:
        return ok(None)
    number = parse_timestamp(raw_number)
    if number is None:
        return fail("invalid message number")
    return ok(normalise_id(f"goog:{req.header('X-Goog-Channel-ID').strip()}:{number}"))


def handshake(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any]) -> HandshakeResponse | None:
    """Google's first message on a new channel (``X-Goog-Resource-State: sync``) is
    acknowledged with an empty 200 and not processed - when its token is right;
    otherwise it goes on to verification, which refuses it."""
    state = (req.header("X-Goog-Resource-State") or "").strip().lower()
    if req.method.upper() != "POST" or state != "sync":
        return None
    if not _token_ok(req, usable_secrets(secrets)):
        return None
    return HandshakeResponse(200, b"", TEXT_PLAIN, dict(NOSNIFF))


def sign_test(sample: Sample) -> dict[str, str]:
    return {"X-Goog-Channel-ID": sample.msg_id, "X-Goog-Channel-Token": sample.secret,
            "X-Goog-Resource-State": "exists", "X-Goog-Message-Number": "1"}


SCHEME = Scheme(
    name="google_channel_token",
    description="Google push channel: X-Goog-Channel-Token must equal the secret; sync acknowledged.",
    verify=verify,
    handshake=handshake,
    sign_test=sign_test,
)
