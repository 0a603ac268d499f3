"""The ``standard`` scheme: Standard Webhooks v1 (https://www.standardwebhooks.com).

The expected signature is the ``standardwebhooks`` library's
(:func:`webhooks.signing.standard_signature`); reading the headers, the replay
window and the comparison stay here, because the library's own ``verify``
reads the wall clock, has a fixed 5-minute window and knows one secret, while
the hub injects the clock (tests, replays), lets a webhook set its window and
accepts the previous secret during a rotation. The published test vectors
are in tests/support/webhooks.py, used by tests/webhooks/incoming/test_verification.py and
tests/webhooks/test_signing.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.signatures import InboundRequest, Sample, Scheme, VerificationResult, fail, ok
from core.signatures.checks import (
    DEFAULT_TOLERANCE_SECONDS,
    MAX_SIGNATURE_ENTRIES,
    b64decode,
    eq,
    normalise_id,
    parse_timestamp,
    tolerance,
    usable_secrets,
)
from webhooks.signing import (
    STANDARD_ID_HEADER,
    STANDARD_SIGNATURE_HEADER,
    STANDARD_TIMESTAMP_HEADER,
    standard_headers,
    standard_signature,
)


def check_standard(req: InboundRequest, secrets: Sequence[str], now: float, window: int) -> VerificationResult:
    """Standard Webhooks v1 check (shared by ``standard`` and ``hmac``).

    The timestamp must be within ``window`` seconds of ``now`` in both
    directions (as in the official libraries); the header may hold several
    space-separated ``version,signature`` entries; entries other than ``v1``
    are ignored and an empty ``v1,`` never matches. The body must be UTF-8:
    the library, like every official one, signs text.
    """
    msg_id = req.header(STANDARD_ID_HEADER)
    raw_timestamp = req.header(STANDARD_TIMESTAMP_HEADER)
    signature_header = req.header(STANDARD_SIGNATURE_HEADER)
    if not msg_id or not raw_timestamp or not signature_header:
        return fail("missing Standard Webhooks headers")
    timestamp = parse_timestamp(raw_timestamp)
    if timestamp is None:
        return fail("invalid timestamp")
    if now - timestamp > window:
        return fail("timestamp too old")
    if timestamp - now > window:
        return fail("timestamp too new")
    try:
        req.body.decode("utf-8")
    except UnicodeDecodeError:
        return fail("body is not UTF-8")
    try:
        expected = [b64decode(standard_signature(s, msg_id, timestamp, req.body).partition(",")[2]) for s in secrets]
    except (OverflowError, ValueError, OSError):  # a timestamp no datetime can hold
        return fail("invalid timestamp")

    for entry in signature_header.split()[:MAX_SIGNATURE_ENTRIES]:
        version, _, encoded = entry.partition(",")
        if version != "v1" or not encoded:
            continue
        provided = b64decode(encoded)
        if not provided:
            continue
        if any(eq(provided, candidate) for candidate in expected):
            return ok(normalise_id(msg_id))
    return fail("signature mismatch")


def window_of(config: Mapping[str, Any]) -> int:
    return tolerance(config, DEFAULT_TOLERANCE_SECONDS) or DEFAULT_TOLERANCE_SECONDS


def verify(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float) -> VerificationResult:
    """Standard Webhooks: ``webhook-id``/``-timestamp``/``-signature`` headers."""
    keys = usable_secrets(secrets)
    if not keys:
        return fail("no secret configured")
    return check_standard(req, keys, now, window_of(config))


def sign_test(sample: Sample) -> dict[str, str]:
    return standard_headers([sample.secret], sample.msg_id, sample.now, sample.body)


STANDARD = Scheme(
    name="standard",
    description="Standard Webhooks: webhook-id, webhook-timestamp and v1 signatures, 5-minute window.",
    verify=verify,
    sign_test=sign_test,
)
