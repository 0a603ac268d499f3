"""Microsoft Graph change notifications: the ``graph`` scheme both Microsoft providers
(Outlook Calendar, OneDrive) name.

https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks -
no signature: every notification must echo the subscription's clientState, and
a new subscription is validated with ``?validationToken=`` echoed back. The hub
cannot sign a test request (clientState sits in the body), so no test signer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.signatures import HandshakeResponse, InboundRequest, Scheme, VerificationResult, fail, ok
from core.signatures.checks import echo, eq, header_id, json_body


def verify(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any], now: float) -> VerificationResult:
    """Each item of the JSON ``value`` array must carry a ``clientState`` equal
    to ``config["clientState"]`` or to one of the webhook's secrets. One
    mismatching item fails the whole request (it may be a forgery mixed in).
    """
    candidates = [c for c in [config.get("clientState"), *secrets] if isinstance(c, str) and c]
    if not candidates:
        return fail("no clientState configured")
    data = json_body(req)
    if not isinstance(data, dict):
        return fail("body is not a JSON object")
    items = data.get("value")
    if not isinstance(items, list) or not items:
        return fail("no notifications in body")
    for item in items:
        if not isinstance(item, dict):
            return fail("malformed notification")
        state = item.get("clientState")
        if not isinstance(state, str) or not state:
            return fail("missing clientState")
        if not any(eq(state, candidate) for candidate in candidates):
            return fail("clientState mismatch")
    return ok(header_id(req))


def handshake(req: InboundRequest, secrets: Sequence[str], config: Mapping[str, Any]) -> HandshakeResponse | None:
    """Graph subscription validation: ``?validationToken=..`` echoed decoded, text/plain."""
    if req.method.upper() not in ("GET", "POST"):
        return None
    token = req.query_param("validationToken")
    return None if token is None else echo(token)


SCHEME = Scheme(
    name="graph",
    description="Microsoft Graph: clientState in every notification must match; validationToken echo.",
    verify=verify,
    handshake=handshake,
)
