"""Authenticity checks for incoming webhook requests: one record per scheme, one registry.

Every provider proves "this request really comes from me" differently (HMAC
over the body, over the URL and form fields, over a timestamp, an ECDSA
signature, a shared value inside the JSON...). The incoming endpoint knows
none of that: it builds an :class:`InboundRequest` from the raw HTTP request
and asks :func:`handshake` (for the providers that first probe the URL) and
then :func:`verify`. Each scheme is one :class:`core.signatures.Scheme` -
verifier, handshake, description, test signer, config check side by side.

Where the schemes live:

- :mod:`.standard` - Standard Webhooks, signed by the ``standardwebhooks`` library;
- :mod:`.generic` - ``hmac`` (the seed's hex signature, or Standard Webhooks) and ``none``;
- ``integrations/providers/<id>/verification.py`` - each provider's own scheme
  (stripe, twilio, meta, dropbox, hubspot, xero, quickbooks, sendgrid,
  monday_jwt, payplus; ``graph`` and ``google_channel_token`` are shared by two
  providers each, in ``_microsoft_verification.py`` / ``_google_verification.py``);
- :mod:`.registry` - the registry and the calls on it;
- :mod:`core.signatures` - the request and record types and the byte-level
  checks every scheme is built from (the rules every scheme follows are there).

Handshakes cover Meta (``hub.challenge``), Dropbox (``challenge``), Microsoft
Graph (``validationToken``), monday (POST ``{"challenge"}`` echoed as JSON) and
Google push channels (the ``sync`` message, acknowledged). Xero's "intent to
receive" needs none: Xero expects 200 for correctly signed requests and 401
for the others, which is what the endpoint answers for the ``xero`` scheme.

Config keys read (all optional unless stated): ``signatureHeader`` (hmac),
``toleranceSeconds`` (standard, hmac, stripe, hubspot, sendgrid - replay
window in seconds; sendgrid checks it only when set), ``clientState``
(graph), ``verifyToken`` (meta handshake), ``publicKey`` (sendgrid,
required unless given in ``secrets``).
"""

from core.signatures import (
    HandshakeResponse,
    InboundRequest,
    Sample,
    Scheme,
    VerificationResult,
    Verifier,
    get_header,
    parse_form_body,
)
from core.signatures.checks import DEFAULT_TOLERANCE_SECONDS
from webhooks.verification.generic import DEFAULT_SIGNATURE_HEADER
from webhooks.verification.registry import (
    REGISTRY,
    SCHEMES,
    VERIFIERS,
    accepted_status,
    config_error,
    describe,
    handshake,
    scheme_of,
    sign_sample,
    verify,
)

__all__ = [
    "DEFAULT_SIGNATURE_HEADER",
    "DEFAULT_TOLERANCE_SECONDS",
    "REGISTRY",
    "SCHEMES",
    "VERIFIERS",
    "HandshakeResponse",
    "InboundRequest",
    "Sample",
    "Scheme",
    "VerificationResult",
    "Verifier",
    "accepted_status",
    "config_error",
    "describe",
    "get_header",
    "handshake",
    "parse_form_body",
    "scheme_of",
    "sign_sample",
    "verify",
]
