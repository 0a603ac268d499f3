"""API shapes (C5): camelCase via the renderer, secrets write-only and masked on read."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core import outbound
from core.fields import (
    JSONListField,
    JSONObjectField,
    StrictBooleanField,
    StrictCharField,
    StrictRegexField,
    StrictUUIDField,
)
from core.serializers import RowsModelSerializer
from entities.models import ENTITY_EVENTS, ENTITY_TYPES
from webhooks.incoming.said import with_texts
from webhooks.models import OutgoingWebhook, WebhookLog
from webhooks.outgoing.config import SECRET_MASK
from webhooks.templating import MAX_TEMPLATE_BYTES


@extend_schema_field({
    "type": "array",
    "minItems": 1,
    "maxItems": 20,
    "items": {
        "type": "object",
        "required": ["entityType", "events"],
        "properties": {
            "entityType": {"type": "string", "enum": list(ENTITY_TYPES)},
            "events": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": list(ENTITY_EVENTS)}},
        },
    },
})
class TriggersField(JSONListField):
    """``[{entityType, events}]``; services.validate_triggers normalises it."""


@extend_schema_field({"type": "string", "format": "uri", "pattern": r"^https?://[A-Za-z0-9.-]+(:[1-9][0-9]{0,3})?(/[^\s]*)?$"})
class TargetUrlField(StrictCharField):
    """An http(s) URL; the SSRF rules (services.validate_url) are checked after this."""




class OutgoingWebhookInputSerializer(serializers.Serializer):
    """Field-level checks; cross-field and SSRF rules live in services (one place for API and admin)."""

    name = StrictCharField(max_length=200)
    description = StrictCharField(max_length=2000, required=False, allow_null=True, allow_blank=True)
    url = TargetUrlField(max_length=outbound.MAX_URL_LENGTH)
    method = serializers.ChoiceField(choices=OutgoingWebhook.Method.values, required=False)
    headers = JSONObjectField(required=False, allow_null=True)
    triggers = TriggersField()
    payload_template = StrictCharField(
        required=False, allow_null=True, allow_blank=True, trim_whitespace=False, max_length=MAX_TEMPLATE_BYTES
    )
    sign_requests = StrictBooleanField(required=False)
    signature_header = StrictRegexField(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$", max_length=100, required=False)
    signature_secret = StrictCharField(
        required=False, allow_blank=True, allow_null=True, write_only=True, max_length=200, trim_whitespace=False
    )
    signature_scheme = serializers.ChoiceField(choices=["hex", "standard"], required=False)
    retry_strategy = serializers.ChoiceField(choices=["linear", "exponential"], required=False)
    retry_attempts = serializers.IntegerField(min_value=1, max_value=10, required=False)
    retry_delay_seconds = serializers.IntegerField(min_value=0, max_value=86400, required=False)
    timeout_seconds = serializers.IntegerField(min_value=1, max_value=30, required=False)
    is_enabled = StrictBooleanField(required=False)


class OutgoingWebhookSerializer(serializers.ModelSerializer):
    """Read shape: the seed's interface plus the hub's fields; the secret is masked."""

    tenant_id = serializers.UUIDField(read_only=True)
    signature_secret = serializers.SerializerMethodField()
    has_signature_secret = serializers.SerializerMethodField()
    headers = serializers.SerializerMethodField()

    class Meta:
        model = OutgoingWebhook
        fields = (
            "id", "tenant_id", "name", "description", "url", "method", "headers", "triggers", "payload_template",
            "sign_requests", "signature_header", "signature_secret", "has_signature_secret", "signature_scheme",
            "previous_secret_expires_at", "retry_strategy", "retry_attempts", "retry_delay_seconds", "timeout_seconds",
            "last_sent_at", "last_status", "last_duration_ms", "total_sent", "total_failed", "consecutive_failures",
            "disabled_reason",
            "is_enabled", "created_at", "updated_at",
        )
        read_only_fields = fields

    def get_signature_secret(self, obj: OutgoingWebhook) -> str | None:
        return SECRET_MASK if obj.has_secret("signature_secret") else None

    def get_has_signature_secret(self, obj: OutgoingWebhook) -> bool:
        return obj.has_secret("signature_secret")

    def get_headers(self, obj: OutgoingWebhook) -> dict | None:
        # Custom headers often carry API keys: credential-looking values are masked.
        return outbound.redact_headers(obj.headers) if obj.headers else obj.headers


class WebhookLogSerializer(RowsModelSerializer):
    tenant_id = serializers.UUIDField(read_only=True)
    # A method, not a field on the ``error_text`` property: the row serializer's planned path reads
    # only columns and methods (core/serializers.py).
    error_text = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField()

    class Meta:
        model = WebhookLog
        fields = (
            "id", "tenant_id", "webhook_id", "webhook_type", "direction", "method", "url", "headers", "body",
            "response_status", "response_headers", "response_body", "status", "error_message", "error_text", "attempt",
            "max_attempts", "next_retry_at", "timestamp", "completed_at", "duration_ms", "delivery_id", "event_type",
            "entity_event_id", "result",
        )
        read_only_fields = fields

    def get_error_text(self, obj: WebhookLog) -> str | None:
        """``errorMessage`` in the request's language (the hardened client's refusals and failures)."""
        return obj.error_text

    @extend_schema_field(OpenApiTypes.ANY)  # as the JSON column it is
    def get_result(self, obj: WebhookLog) -> Any:
        """The stored result; a received request's adds, beside each English ``error`` / ``reason`` that
        has words, its ``errorText`` / ``reasonText`` in the request's language."""
        if obj.direction == WebhookLog.Direction.INCOMING:
            return with_texts(obj.result)
        return obj.result


class WebhookLogFilterSerializer(serializers.Serializer):
    """Query parameters of the log lists (``?status=&event=&since=&until=``; ``webhookId`` on the tenant-wide one)."""

    webhook_id = serializers.UUIDField(required=False, help_text="Only this webhook's logs (tenant-wide list).")
    status = serializers.ChoiceField(choices=WebhookLog.Status.choices, required=False)
    event = serializers.CharField(required=False, max_length=60, help_text="Event type, e.g. `meeting.created`.")
    since = serializers.DateTimeField(required=False, help_text="Logs at or after this time (ISO 8601).")
    until = serializers.DateTimeField(required=False, help_text="Logs before this time (ISO 8601).")

    @classmethod
    def parse(cls, query_params) -> dict:
        """The validated filters (400 on a bad value); ``webhookId`` is the camelCase spelling."""
        raw = {k: v for k, v in query_params.items() if k in ("status", "event", "since", "until")}
        if "webhookId" in query_params:
            raw["webhook_id"] = query_params["webhookId"]
        serializer = cls(data=raw)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class PreviewInputSerializer(serializers.Serializer):
    payload_template = StrictCharField(
        required=False, allow_null=True, allow_blank=True, trim_whitespace=False, max_length=MAX_TEMPLATE_BYTES
    )
    entity_type = serializers.ChoiceField(choices=ENTITY_TYPES, required=False)
    event = serializers.ChoiceField(choices=ENTITY_EVENTS, required=False)
    entity_id = StrictUUIDField(required=False)
    entity = JSONObjectField(required=False)

    def validate_entity(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("must be an object"))
        return value


class TestSendInputSerializer(serializers.Serializer):
    payload = JSONObjectField(required=False, allow_null=True)
    entity_type = serializers.ChoiceField(choices=ENTITY_TYPES, required=False)
    event = serializers.ChoiceField(choices=ENTITY_EVENTS, required=False)

    def validate_payload(self, value):
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError(_("must be an object"))
        return value
