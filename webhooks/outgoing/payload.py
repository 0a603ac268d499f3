"""What an attempt sends: the body (the seed's default or the webhook's template) and the headers.

:func:`render_body` gives the exact bytes (stored as ``body_text``, so a
retry or replay sends the same body); :func:`build_headers` signs them per
the webhook's scheme with every secret still valid (rotation grace) and
returns the headers to send and their redacted form to log.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from django.utils import timezone

from core import outbound
from webhooks import loops, signing
from webhooks.models import OutgoingWebhook
from webhooks.outgoing import conf
from webhooks.outgoing.config import RESERVED_HEADERS
from webhooks.templating import BodyTooLarge, build_context, render_template

#: Namespace of delivery ids: uuid5(namespace, "<entity event id>:<webhook id>")
#: gives every (event, webhook) pair one id, whichever worker computes it.
DELIVERY_NAMESPACE = uuid.UUID("6f1c7f0e-4a43-5d0b-9d4e-8a8f2f5b9c11")


def delivery_id_for(event_id: uuid.UUID | str, webhook_id: uuid.UUID | str) -> uuid.UUID:
    return uuid.uuid5(DELIVERY_NAMESPACE, f"{event_id}:{webhook_id}")


def _compact(value: Any) -> str:
    from django.core.serializers.json import DjangoJSONEncoder

    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder)


def render_body(
    *,
    webhook: OutgoingWebhook,
    entity: dict[str, Any],
    entity_type: str,
    entity_id: str,
    event: str,
    tenant_id: str,
    timestamp: str,
    template: str | None = None,
) -> str:
    """The JSON text to send: the entity itself without a template (seed rule), else C7 rendering.

    Raises :class:`TemplateError` for an unusable template (a stored one over
    today's placeholder cap included) and :class:`BodyTooLarge` once the body
    passes ``OUTGOING_WEBHOOK_MAX_BODY_BYTES`` — a template stops rendering
    there instead of multiplying a large entity in memory.
    """
    template = webhook.payload_template if template is None else template
    limit = conf.max_body_bytes()
    if not template:
        text = _compact(entity)
        if len(text.encode("utf-8", errors="surrogatepass")) > limit:
            raise BodyTooLarge(limit)
        return text
    context = build_context(
        entity=entity, entity_type=entity_type, entity_id=entity_id, event=event, tenant_id=tenant_id, timestamp=timestamp
    )
    return render_template(template, context, max_bytes=limit, max_placeholders=conf.max_template_placeholders())


def _signing_secrets(webhook: OutgoingWebhook, now: dt.datetime) -> list[str]:
    secrets = [webhook.get_secret("signature_secret") or ""]
    if (
        webhook.has_secret("previous_signature_secret")
        and webhook.previous_secret_expires_at
        and webhook.previous_secret_expires_at > now
    ):
        secrets.append(webhook.get_secret("previous_signature_secret") or "")
    return [s for s in secrets if s]


def build_headers(
    *,
    webhook: OutgoingWebhook,
    delivery_id: str,
    event_type: str,
    body: bytes,
    timestamp: int,
    now: dt.datetime | None = None,
    test: bool = False,
    hops: int = 1,
) -> tuple[dict[str, str], dict[str, str]]:
    """Return (headers to send, headers to log) for one attempt (contract C7).

    Custom headers come first and the hub's own last, so they can never be
    overridden. The hex scheme's signature uses the current secret only (the
    seed's one-value header that our incoming endpoint and the seed's verifier
    compare as a whole); the standard scheme sends the Standard Webhooks
    headers only (no hex signature: issue 10), ``webhook-signature`` listing
    the current and, for 24 h after a rotation, the previous secret's ``v1,``
    signatures, space-separated, as Standard Webhooks allows.
    """
    now = now or timezone.now()
    headers: dict[str, str] = {}
    for name, value in (webhook.headers or {}).items():
        if name.lower() not in RESERVED_HEADERS and name.lower() != (webhook.signature_header or "").lower():
            headers[name] = webhook.open_value("headers", name, value)
    headers["Content-Type"] = "application/json"
    headers["X-Webhook-Event"] = event_type
    headers["X-Webhook-Delivery"] = delivery_id
    headers[loops.HOPS_HEADER] = str(hops)  # 1: an original send (see webhooks.loops)
    if test:
        headers["X-Webhook-Test"] = "true"
    redact = {webhook.signature_header.lower()} if webhook.signature_header else set()
    if webhook.sign_requests:
        secrets = _signing_secrets(webhook, now)
        if not secrets:
            raise ValueError("signRequests is on but no signature secret is stored")
        if webhook.signature_scheme == "standard":
            # Only the Standard Webhooks headers: a timestamp-less hex signature made with the
            # same secret next to them would let a captured request be replayed for ever.
            headers.update(signing.standard_headers(secrets, delivery_id, timestamp, body))
        else:
            headers[webhook.signature_header or "X-Webhook-Signature"] = signing.hex_hmac_sha256(secrets[0], body)
    logged = outbound.redact_headers(headers)
    for name in logged:
        if name.lower() in redact:
            logged[name] = "[redacted]"
    return headers, logged
