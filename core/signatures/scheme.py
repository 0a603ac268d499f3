"""One verification scheme as one record: how it verifies, its URL handshake, its
description, its test signer and its config check, all beside each other.

A provider's scheme is a :class:`Scheme` in its own folder
(``integrations/providers/<id>/verification.py``), the generic ones (``hmac``,
``standard``, ``none``) live in :mod:`webhooks.verification`; the webhooks
registry collects both. The record sits in ``core`` because both floors use it
(integrations never imports webhooks).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.signatures.request import InboundRequest
from core.words import Words, english, is_words, words


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of a verification.

    ``reason`` is empty on success (except for the ``none`` scheme, which says
    "unauthenticated") and a short English phrase on failure, safe to log:
    it never contains secrets or signatures. ``words`` is the same reason as
    words (core.words: its msgid is the English phrase, or a template with the
    header's name as a param), so a page says it in its reader's language; it is
    no part of the outcome's identity (``compare=False``).
    """

    ok: bool
    reason: str = ""
    dedupe_id: str | None = None
    words: Words | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class HandshakeResponse:
    """What to answer to a URL-validation request instead of processing it.

    ``headers`` carries extra response headers; echo responses always include
    ``X-Content-Type-Options: nosniff`` so a reflected challenge can never be
    sniffed into HTML by a browser.
    """

    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sample:
    """What the "test" button asks a scheme to sign as a real sender would."""

    secret: str
    body: bytes
    url: str
    now: int
    msg_id: str


#: Gets the request, the usable secrets, the webhook's config and the current
#: Unix time; must not raise (the registry turns an exception into a failure anyway).
Verifier = Callable[[InboundRequest, Sequence[str], Mapping[str, Any], float], VerificationResult]
#: Returns the answer to a URL probe, or ``None`` when the request is no probe.
Handshake = Callable[[InboundRequest, Sequence[str], Mapping[str, Any]], HandshakeResponse | None]
#: Returns the headers a real sender of the scheme adds to ``sample.body``.
TestSigner = Callable[[Sample], dict[str, str]]
#: Returns why a webhook's config (and new secrets) cannot work with the scheme, or ``None``.
ConfigCheck = Callable[[Mapping[str, Any], Sequence[str | None]], str | None]


@dataclass(frozen=True)
class Scheme:
    """A verification scheme: everything the hub knows about one way of proving a sender.

    ``sign_test`` is ``None`` when the hub cannot produce a sender's signature
    (a private key it does not hold, a signature over data it does not send).
    ``accepted_status`` is what the endpoint answers a stored request (202, or
    200 where the provider insists on it).
    """

    name: str
    description: str
    verify: Verifier
    handshake: Handshake | None = None
    sign_test: TestSigner | None = None
    config_error: ConfigCheck | None = None
    accepted_status: int = 202


def ok(dedupe_id: str | None) -> VerificationResult:
    return VerificationResult(ok=True, reason="", dedupe_id=dedupe_id)


def fail(reason: str | Words) -> VerificationResult:
    """A refused request: ``reason`` a fixed English phrase (its own msgid, translated in the
    project's catalog) or words (a phrase with a param); ``reason`` keeps the English."""
    said = reason if is_words(reason) else words(str(reason))
    return VerificationResult(ok=False, reason=english(said), dedupe_id=None, words=said)
