"""What a verification scheme is made of: the request it reads, the record it is,
and the byte-level checks it is built from.

Why in ``core``: every provider proves "this request really comes from me"
differently, and a provider's scheme lives in its own folder
(``integrations/providers/<id>/verification.py``) while the generic schemes and
the registry live in :mod:`webhooks.verification`; both floors need the same
types, and integrations never imports webhooks. Everything here is pure - no
Django, no database - so schemes can be tested against the providers' own
SDKs and published vectors.

Rules every scheme follows:

* It works on the **raw body bytes** exactly as received; nothing is parsed
  and re-serialised before a signature check (PayPlus' documented sample is
  the one exception, tried after the raw body).
* Every secret comparison goes through :func:`hmac.compare_digest` on bytes
  (:func:`checks.eq`).
* ``secrets`` is the list of secrets currently valid for the webhook (the
  current one first, then a previous one still inside its rotation grace
  period); a request signed with **any** of them passes.
* Malformed input (missing headers, bad base64, non-JSON bodies, absurd
  timestamps...) never raises: the result is ``ok=False`` with a short English
  ``reason`` that never contains secret material, so it can be logged and
  shown to the tenant.
* ``dedupe_id`` is filled only for verified requests (an unauthenticated
  sender must not be able to poison the de-duplication table); it is the
  provider's own delivery or event id when one exists. Schemes that sign the
  body and nothing else use a hash of the signed body instead of an unsigned
  id header, so a replay of a captured request is a duplicate whatever id
  header it carries.
"""

from core.signatures.request import InboundRequest, get_header, parse_form_body
from core.signatures.scheme import (
    ConfigCheck,
    Handshake,
    HandshakeResponse,
    Sample,
    Scheme,
    TestSigner,
    VerificationResult,
    Verifier,
    fail,
    ok,
)

__all__ = [
    "ConfigCheck",
    "Handshake",
    "HandshakeResponse",
    "InboundRequest",
    "Sample",
    "Scheme",
    "TestSigner",
    "VerificationResult",
    "Verifier",
    "fail",
    "get_header",
    "ok",
    "parse_form_body",
]
