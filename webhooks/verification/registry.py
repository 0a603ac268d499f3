"""Scheme name -> :class:`core.signatures.Scheme`, and the calls the endpoint, the
"test" button and the settings API make on it.

The registry is the generic schemes (``hmac``, ``standard``, ``none``, in this
package) plus the provider-specific ones, each living with its provider
(``integrations/providers/<id>/verification.py``, collected by the provider
registry as ``WEBHOOK_SCHEMES``). ``ORDER`` is the order shown in forms and the
API; a provider scheme not listed there comes after the listed ones, before
``none``. The hub refuses to start when a provider names a scheme that is not
here (:func:`webhooks.apps.check_verifiers`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from core.signatures import (
    HandshakeResponse,
    InboundRequest,
    Sample,
    Scheme,
    VerificationResult,
    Verifier,
    fail,
)
from integrations.providers.catalog import WEBHOOK_SCHEMES as PROVIDER_SCHEMES
from webhooks.verification.generic import HMAC, NONE
from webhooks.verification.standard import STANDARD

ORDER: tuple[str, ...] = (
    "hmac",
    "standard",
    "stripe",
    "twilio",
    "meta",
    "dropbox",
    "graph",
    "hubspot",
    "xero",
    "quickbooks",
    "sendgrid",
    "google_channel_token",
    "monday_jwt",
    "payplus",
    "none",
)


def _collect(generic: Sequence[Scheme], provided: Mapping[str, Scheme]) -> dict[str, Scheme]:
    clash = sorted({s.name for s in generic} & set(provided))
    if clash:
        raise ImportError(f"provider schemes reuse the names of generic ones: {clash}")
    every = {**{s.name: s for s in generic}, **provided}
    listed = [name for name in ORDER if name in every and name != NONE.name]
    unlisted = sorted(set(every) - set(ORDER))
    return {name: every[name] for name in [*listed, *unlisted, NONE.name]}


REGISTRY: dict[str, Scheme] = _collect((HMAC, STANDARD, NONE), PROVIDER_SCHEMES)

#: Every scheme name, in a stable order (for choices in forms and the API).
SCHEMES: tuple[str, ...] = tuple(REGISTRY)

#: Scheme name -> verifier (the registry seen from the start-up check and the tests).
VERIFIERS: dict[str, Verifier] = {name: scheme.verify for name, scheme in REGISTRY.items()}


def scheme_of(name: str) -> Scheme:
    """The scheme record; an unknown name is a programming/configuration error (``ValueError``)."""
    scheme = REGISTRY.get(name)
    if scheme is None:
        raise ValueError(f"unknown verification scheme: {name!r}")
    return scheme


def verify(
    scheme: str,
    req: InboundRequest,
    secrets: list[str],
    config: Mapping[str, Any] | None,
    now: float | None = None,
) -> VerificationResult:
    """Check that ``req`` was sent by the holder of one of ``secrets``.

    ``secrets`` holds the current secret first and possibly a previous one
    still valid during rotation; any match passes. ``now`` (Unix seconds)
    exists so tests and replays can use a fixed clock. An unknown ``scheme``
    raises ``ValueError``; anything wrong with the request itself gives
    ``ok=False``. As a last line of defence an unexpected exception inside a
    verifier is also turned into ``ok=False`` so a crafted request can never
    produce a 500.
    """
    record = scheme_of(scheme)
    current = time.time() if now is None else float(now)
    try:
        return record.verify(req, list(secrets or []), dict(config or {}), current)
    except Exception:  # noqa: BLE001 - verification must fail closed, never raise
        return fail("malformed request")


def handshake(
    scheme: str,
    req: InboundRequest,
    secrets: list[str],
    config: Mapping[str, Any] | None,
) -> HandshakeResponse | None:
    """Return the answer to a URL-validation request, or ``None`` to go on normally.

    Call it before :func:`verify`: when it returns a response, send that
    response as-is (status, body, content type and headers) and do not store
    or process the request. Unknown schemes raise ``ValueError`` like
    :func:`verify`.
    """
    record = scheme_of(scheme)
    if record.handshake is None:
        return None
    try:
        return record.handshake(req, list(secrets or []), dict(config or {}))
    except Exception:  # noqa: BLE001 - a malformed probe must not become a 500
        return None


def describe(scheme: str) -> str:
    """One-line, human-readable description of ``scheme`` for the UI."""
    return scheme_of(scheme).description


def accepted_status(scheme: str) -> int:
    """The status the endpoint answers a stored request of ``scheme`` with (202 unless the provider insists)."""
    return scheme_of(scheme).accepted_status


def sign_sample(scheme: str, sample: Sample) -> dict[str, str] | None:
    """Headers a real sender of ``scheme`` would add to ``sample.body``, or ``None``
    when the hub cannot sign for it (twilio, graph, sendgrid)."""
    signer = scheme_of(scheme).sign_test
    return None if signer is None else signer(sample)


def config_error(scheme: str, config: Mapping[str, Any], new_secrets: Sequence[str | None]) -> str | None:
    """Why a webhook's verification config cannot work with ``scheme``, or ``None``."""
    check = scheme_of(scheme).config_error
    return None if check is None else check(config, new_secrets)
