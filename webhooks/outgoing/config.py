"""Outgoing webhook settings: validation of every field, and the create / update / delete writes.

A tenant's webhook is checked here before it is stored: URL, custom headers
(never one the engine controls, :data:`RESERVED_HEADERS`), triggers, payload
template, secret and signing scheme. Errors are :class:`WebhookConfigError`
(field → messages, the API's 400).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import outbound
from entities.models import ENTITY_EVENTS, ENTITY_TYPES
from tenancy.models import Tenant
from webhooks import loops, signing
from webhooks.models import OutgoingWebhook
from webhooks.outgoing import conf
from webhooks.templating import validate_template

MAX_HEADERS = 20


MAX_HEADER_NAME = 100


MAX_HEADER_VALUE = 4096


MAX_TRIGGERS = 20


SECRET_MASK = "********"


ROTATION_GRACE = dt.timedelta(hours=24)


#: Headers the engine controls; tenants' custom headers can never replace them.
RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        "Content-Type",
        "Content-Length",
        "Host",
        "Transfer-Encoding",
        "Connection",
        "X-Webhook-Event",
        "X-Webhook-Delivery",
        "X-Webhook-Test",
        loops.HOPS_HEADER,
        signing.STANDARD_ID_HEADER,
        signing.STANDARD_TIMESTAMP_HEADER,
        signing.STANDARD_SIGNATURE_HEADER,
    )
)


_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


_BAD_VALUE_RE = re.compile(r"[\r\n\x00]")


class WebhookConfigError(ValueError):
    """Invalid webhook configuration; ``fields`` maps field name → messages (API 400)."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()))


def validate_url(url: str) -> str:
    """Static SSRF and loop checks at save time (send time checks SSRF again after DNS)."""
    try:
        outbound.check_url(url, allow_private=conf.allow_private())
        loops.check_not_own_origin(url)
    except outbound.OutboundRefused as exc:
        raise WebhookConfigError({"url": [_("URL refused: %(reason)s") % {"reason": exc.in_words()}]}) from None
    return url


def validate_headers(headers: Any, *, signature_header: str | None) -> dict[str, str]:
    if headers in (None, ""):
        return {}
    if not isinstance(headers, dict):
        raise WebhookConfigError({"headers": [_("must be an object of header name → value")]})
    if len(headers) > MAX_HEADERS:
        raise WebhookConfigError({"headers": [_("at most %(n)s headers") % {"n": MAX_HEADERS}]})
    reserved = set(RESERVED_HEADERS)
    if signature_header:
        reserved.add(signature_header.lower())
    errors: list[str] = []
    seen: set[str] = set()
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN_RE.fullmatch(name) or len(name) > MAX_HEADER_NAME:
            errors.append(_("invalid header name %(name)s") % {"name": repr(str(name)[:40])})
            continue
        if name.lower() in reserved:
            errors.append(_("header %(name)s is set by the hub and cannot be overridden") % {"name": name})
            continue
        if name.lower() in seen:
            errors.append(_("header %(name)s appears twice") % {"name": name})
            continue
        seen.add(name.lower())
        if not isinstance(value, str) or len(value) > MAX_HEADER_VALUE or _BAD_VALUE_RE.search(value):
            errors.append(_("value of %(name)s must be a string of at most %(n)s characters without line breaks")
                          % {"name": name, "n": MAX_HEADER_VALUE})
            continue
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            errors.append(_("value of %(name)s must contain only ASCII/Latin-1 characters") % {"name": name})
    if errors:
        raise WebhookConfigError({"headers": errors})
    return dict(headers)


def validate_triggers(triggers: Any) -> list[dict[str, Any]]:
    """Normalise to the seed's ``[{entityType, events}]`` (stored camelCase, as the seed's JSONB)."""
    if not isinstance(triggers, list) or not triggers:
        raise WebhookConfigError({"triggers": [_("must be a non-empty list of {entityType, events}")]})
    if len(triggers) > MAX_TRIGGERS:
        raise WebhookConfigError({"triggers": [_("at most %(n)s triggers") % {"n": MAX_TRIGGERS}]})
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    errors: list[str] = []
    for i, trig in enumerate(triggers):
        if not isinstance(trig, dict):
            errors.append(_("trigger %(i)s: must be an object") % {"i": i})
            continue
        entity_type = trig.get("entity_type", trig.get("entityType"))
        events = trig.get("events")
        if entity_type not in ENTITY_TYPES:
            errors.append(_("trigger %(i)s: entityType must be one of %(choices)s") % {"i": i, "choices": ", ".join(ENTITY_TYPES)})
            continue
        if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
            errors.append(_("trigger %(i)s: events must be a non-empty list") % {"i": i})
            continue
        unknown = [e for e in events if e not in ENTITY_EVENTS]
        if unknown:
            errors.append(_("trigger %(i)s: unknown events %(events)s; allowed: %(allowed)s") % {
                "i": i, "events": ", ".join(unknown[:5]), "allowed": ", ".join(ENTITY_EVENTS)})
            continue
        if entity_type in seen:  # listed twice: one trigger with both lists' events (no schema can forbid it)
            merged = next(t for t in out if t["entityType"] == entity_type)
            merged["events"] = list(dict.fromkeys([*merged["events"], *events]))
            continue
        seen.add(entity_type)
        out.append({"entityType": entity_type, "events": list(dict.fromkeys(events))})
    if errors:
        raise WebhookConfigError({"triggers": errors})
    return out


def validate_payload_template(template: Any) -> str | None:
    if template is None or (isinstance(template, str) and not template.strip()):
        return None
    problems = validate_template(template, max_placeholders=conf.max_template_placeholders())
    if problems:
        raise WebhookConfigError({"payloadTemplate": problems})
    return template


def validate_secret(secret: str, *, scheme: str) -> str:
    if scheme == "standard":
        if not secret.startswith(signing.WHSEC_PREFIX):
            raise WebhookConfigError(
                {"signatureSecret": [_("the standard scheme needs a whsec_ secret (whsec_ + base64 of 24-64 random bytes)")]}
            )
        key = signing.whsec_key_bytes(secret)
        if key == secret.encode() or not 24 <= len(key) <= 64:
            raise WebhookConfigError({"signatureSecret": [_("whsec_ secret must wrap 24-64 base64-encoded bytes")]})
    elif not 8 <= len(secret) <= 200:
        raise WebhookConfigError({"signatureSecret": [_("must be 8-200 characters")]})
    return secret


_FIELDS = (
    "name",
    "description",
    "url",
    "method",
    "headers",
    "triggers",
    "payload_template",
    "sign_requests",
    "signature_header",
    "signature_scheme",
    "retry_strategy",
    "retry_attempts",
    "retry_delay_seconds",
    "timeout_seconds",
    "is_enabled",
)


def _apply(webhook: OutgoingWebhook, data: dict[str, Any]) -> None:
    """Validate cross-field rules and copy ``data`` (snake_case, serializer-checked) onto ``webhook``."""
    old_header = webhook.signature_header
    old_url = webhook.url
    stored_headers = {k.lower(): v for k, v in (webhook.headers or {}).items()}
    for field in _FIELDS:
        if field in data:
            setattr(webhook, field, data[field])
    if "url" in data:
        validate_url(webhook.url)
    # Stored credentials never follow a changed destination: with a new origin, every
    # credential header must be typed again (or dropped). Not sending the headers at
    # all counts as echoing them masked, as a GET shows them.
    moved = bool(old_url) and outbound.origin(old_url) != outbound.origin(webhook.url)
    if moved and "headers" not in data and isinstance(webhook.headers, dict):
        webhook.headers = outbound.redact_headers(webhook.headers)
    if "triggers" in data:
        webhook.triggers = validate_triggers(webhook.triggers)
    if "payload_template" in data:
        webhook.payload_template = validate_payload_template(webhook.payload_template)
    if "headers" in data or webhook.signature_header != old_header or moved:
        headers = webhook.headers
        if isinstance(headers, dict):
            # A masked value echoed back from a GET (or a sealed one shown in the
            # admin) keeps the stored one while the origin stays; validated as
            # plaintext, sealed again.
            headers = {k: _stored_or_given(webhook, k, v, stored_headers, moved=moved) for k, v in headers.items()}
        # Credential-looking values (Authorization, API keys…) are sealed when the
        # webhook is saved (OutgoingWebhook.seal_plaintext_secrets).
        webhook.headers = validate_headers(headers, signature_header=webhook.signature_header) or None

    secret = data.get("signature_secret")
    if secret is not None and secret != SECRET_MASK:
        if secret == "":
            webhook.set_secret("signature_secret", None)
            webhook.set_secret("previous_signature_secret", None)
            webhook.previous_secret_expires_at = None
        else:
            validate_secret(secret, scheme=webhook.signature_scheme)
            current = webhook.get_secret("signature_secret") if webhook.has_secret("signature_secret") else None
            if current and current != secret:
                # Rotation: the old secret keeps signing alongside for 24 h.
                webhook.set_secret("previous_signature_secret", current)
                webhook.previous_secret_expires_at = timezone.now() + ROTATION_GRACE
            webhook.set_secret("signature_secret", secret)
    elif "signature_scheme" in data and webhook.has_secret("signature_secret"):
        validate_secret(webhook.get_secret("signature_secret") or "", scheme=webhook.signature_scheme)
    if webhook.sign_requests and not webhook.has_secret("signature_secret"):
        raise WebhookConfigError({"signatureSecret": [_("required when signRequests is true")]})
    if data.get("is_enabled") is True:
        webhook.consecutive_failures = 0
        webhook.disabled_reason = None


def _stored_or_given(webhook: OutgoingWebhook, name: str, value: Any, stored: dict[str, Any], *, moved: bool) -> Any:
    try:
        value = outbound.unmask_header(value, stored.get(name.lower()), origin_changed=moved)
    except ValueError as exc:
        raise WebhookConfigError({"headers": [_("value of %(name)s: %(problem)s") % {"name": name, "problem": exc}]}) from None
    return webhook.open_value("headers", name, value)  # plaintext to validate; sealed again on save


@transaction.atomic
def outgoing_webhook_create(*, tenant: Tenant, data: dict[str, Any]) -> OutgoingWebhook:
    if OutgoingWebhook.objects.filter(tenant=tenant).count() >= conf.max_per_tenant():
        raise WebhookConfigError({"non_field_errors": [_("at most %(n)s outgoing webhooks per tenant") % {"n": conf.max_per_tenant()}]})
    webhook = OutgoingWebhook(tenant=tenant, triggers=[])
    for required in ("name", "url", "triggers"):
        if required not in data:
            raise WebhookConfigError({required: [_("This field is required.")]})
    _apply(webhook, data)
    webhook.save()
    return webhook


@transaction.atomic
def outgoing_webhook_update(*, webhook: OutgoingWebhook, data: dict[str, Any]) -> OutgoingWebhook:
    _apply(webhook, data)
    webhook.save()
    return webhook


def outgoing_webhook_delete(*, webhook: OutgoingWebhook) -> None:
    """Delete the configuration; its logs stay (retention removes them), pending attempts are skipped."""
    webhook.delete()
