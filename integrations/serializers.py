"""Input and output shapes of the connections API (seed section ב, camelCase via the renderer).

Secrets never leave: the output serializer has no field for ``oauth_encrypted``,
``api_key_encrypted`` or ``webhook_secret``, only booleans saying they exist.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from rest_framework import serializers

from core.fields import (
    JSONListField,
    JSONObjectField,
    RFC3339DateTimeField,
    StrictBooleanField,
    StrictCharField,
)
from core.serializers import RowsModelSerializer
from entities.models import entity_type_label
from integrations.models import Integration, IntegrationLog
from integrations.providers.catalog import LOCAL_ENTITY_TYPES, SYNC_DIRECTIONS, get_provider
from integrations.providers.registry import adapter_for
from integrations.sync.mapping import TRANSFORMS, filter_errors, mapping_errors, transform_choices_error
from integrations.sync.runs import failed_item_text, last_error_text, run_error_text

FREQUENCIES = ("realtime", "hourly", "daily", "manual")
MAX_ENTITIES, MAX_MAPPINGS, MAX_FILTERS = 50, 200, 50
MAX_JSON_VALUE_BYTES = 4096
MAX_SETTINGS_BYTES = 64 * 1024
_FIELD_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[\d*\])?(\.[A-Za-z0-9_]+(\[\d*\])?)*$")
_REMOTE_FIELD = re.compile(r"^[^\s]{1,200}$")


class IntegrationSerializer(serializers.ModelSerializer):
    tenant_id = serializers.UUIDField(read_only=True)
    connected_by = serializers.UUIDField(source="connected_by_id", read_only=True)
    has_oauth = serializers.SerializerMethodField()
    has_api_key = serializers.SerializerMethodField()
    has_webhook_secret = serializers.SerializerMethodField()
    auth_kind = serializers.SerializerMethodField()
    last_error_text = serializers.SerializerMethodField()

    class Meta:
        model = Integration
        fields = [
            "id", "tenant_id", "provider", "name", "description", "status", "auth_kind",
            "has_oauth", "has_api_key", "webhook_url", "has_webhook_secret", "sync_settings",
            "last_sync_at", "last_sync_status", "last_error", "last_error_text", "total_syncs", "created_at", "updated_at",
            "connected_by", "scopes", "token_expires_at", "connection_config", "settings", "conflict_policy",
        ]
        read_only_fields = fields

    def get_has_oauth(self, obj: Integration) -> bool:
        return obj.has_secret("oauth_encrypted")

    def get_has_api_key(self, obj: Integration) -> bool:
        return obj.has_secret("api_key_encrypted")

    def get_has_webhook_secret(self, obj: Integration) -> bool:
        return obj.has_secret("webhook_secret")

    def get_auth_kind(self, obj: Integration) -> str:
        return get_provider(obj.provider).auth_kind

    def get_last_error_text(self, obj: Integration) -> str | None:
        """``lastError`` in the request's language (its words, when it kept them)."""
        return last_error_text(obj)


class IntegrationLogSerializer(RowsModelSerializer):
    tenant_id = serializers.UUIDField(read_only=True)
    integration_id = serializers.UUIDField(read_only=True)
    failed_items = serializers.SerializerMethodField()
    error_text = serializers.SerializerMethodField()

    class Meta:
        model = IntegrationLog
        fields = [
            "id", "tenant_id", "integration_id", "action", "direction", "status", "summary", "failed_items",
            "error_message", "error_text", "error_code", "started_at", "completed_at", "duration_ms",
            "request_snapshot", "response_snapshot",
        ]
        read_only_fields = fields

    def get_failed_items(self, obj: IntegrationLog) -> list[dict[str, Any]] | None:
        """The stored items as they are (``error`` the English text), each with ``errorText``:
        the error in the request's language."""
        if obj.failed_items is None:
            return None
        return [{**item, "errorText": failed_item_text(item)} if isinstance(item, dict) else item
                for item in obj.failed_items]

    def get_error_text(self, obj: IntegrationLog) -> str | None:
        """``errorMessage`` in the request's language (None while the run has no error)."""
        return run_error_text(obj) if obj.error_message else None


class IntegrationLogFilterSerializer(serializers.Serializer):
    """Query parameters of ``GET /api/integrations/{id}/logs`` (``?status=&action=&since=&until=``)."""

    status = serializers.CharField(required=False, max_length=20, help_text="e.g. success, partial, failed, running.")
    action = serializers.ChoiceField(choices=IntegrationLog.Action.choices, required=False)
    since = serializers.DateTimeField(required=False, help_text="Logs started at or after this time (ISO 8601).")
    until = serializers.DateTimeField(required=False, help_text="Logs started before this time (ISO 8601).")

    @classmethod
    def parse(cls, query_params) -> dict:
        serializer = cls(data={k: v for k, v in query_params.items() if k in cls._declared_fields})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


def _json_size_ok(value: Any) -> bool:
    return _json_size_ok_bytes(value, MAX_JSON_VALUE_BYTES)


def _json_size_ok_bytes(value: Any, limit: int) -> bool:
    try:
        return len(json.dumps(value)) <= limit
    except (TypeError, ValueError):
        return False


def validate_sync_settings(value: Any, *, provider_id: str) -> dict[str, Any]:
    """The seed's IntegrationSyncSettings, checked against the provider's entity pairs.

    Keys arrive camelCase (``sync_settings`` is exempt from re-casing) and are stored so.
    """
    errors: dict[str, Any] = {}
    if not isinstance(value, dict):
        raise serializers.ValidationError(_("must be an object"))
    allowed = {"enabled", "direction", "frequency", "entities", "fieldMappings", "filters"}
    unknown = sorted(set(value) - allowed)
    if unknown:
        errors["unknown"] = [_("unknown key %(key)s") % {"key": repr(k)} for k in unknown]
    provider = get_provider(provider_id)
    provider_name = provider.display_name
    pairs = {(p.local, p.remote): p for p in provider.entity_pairs}
    locals_ = {p.local for p in provider.entity_pairs}
    out: dict[str, Any] = {}

    enabled = value.get("enabled", False)
    if not isinstance(enabled, bool):
        errors["enabled"] = [_("must be true or false")]
    out["enabled"] = enabled
    for key, choices in (("direction", SYNC_DIRECTIONS), ("frequency", FREQUENCIES)):
        if key not in value:
            errors[key] = [_("this field is required")]
        elif value[key] not in choices:
            errors[key] = [_("must be one of %(choices)s") % {"choices": ", ".join(choices)}]
        else:
            out[key] = value[key]

    entities = value.get("entities", [])
    if not isinstance(entities, list) or len(entities) > MAX_ENTITIES:
        errors["entities"] = [_("must be a list of at most %(n)s items") % {"n": MAX_ENTITIES}]
        entities = []
    out["entities"] = []
    for i, item in enumerate(entities):
        problems = []
        if not isinstance(item, dict):
            errors[f"entities[{i}]"] = [_("must be an object")]
            continue
        extra = set(item) - {"localEntity", "remoteEntity", "enabled", "direction"}
        if extra:
            problems.append(_("unknown keys %(keys)s") % {"keys": sorted(extra)})
        pair = pairs.get((item.get("localEntity"), item.get("remoteEntity")))
        if pair is None:
            supported = ", ".join(f"{p.local}->{p.remote}" for p in provider.entity_pairs) or pgettext("no entity pairs", "none")
            problems.append(_("%(provider)s cannot sync %(local)s with %(remote)s (supported: %(supported)s)") % {
                "provider": provider_name, "local": repr(item.get("localEntity")),
                "remote": repr(item.get("remoteEntity")), "supported": supported})
        if not isinstance(item.get("enabled", True), bool):
            problems.append(_("enabled must be true or false"))
        direction = item.get("direction")
        if direction not in SYNC_DIRECTIONS:
            problems.append(_("direction must be one of %(choices)s") % {"choices": ", ".join(SYNC_DIRECTIONS)})
        elif pair is not None and direction not in pair.directions:
            problems.append(_("direction %(direction)s is not supported for this pair (%(supported)s)") % {
                "direction": repr(direction), "supported": ", ".join(pair.directions)})
        if problems:
            errors[f"entities[{i}]"] = problems
        else:
            out["entities"].append({"localEntity": item["localEntity"], "remoteEntity": item["remoteEntity"],
                                    "enabled": item.get("enabled", True), "direction": direction})

    mappings = value.get("fieldMappings", [])
    if not isinstance(mappings, list) or len(mappings) > MAX_MAPPINGS:
        errors["fieldMappings"] = [_("must be a list of at most %(n)s items") % {"n": MAX_MAPPINGS}]
        mappings = []
    out["fieldMappings"] = []
    for i, item in enumerate(mappings):
        problems = []
        if not isinstance(item, dict):
            errors[f"fieldMappings[{i}]"] = [_("must be an object")]
            continue
        extra = set(item) - {"localEntity", "localField", "remoteField", "transform", "transformConfig", "defaultValue"}
        if extra:
            problems.append(_("unknown keys %(keys)s") % {"keys": sorted(extra)})
        if item.get("localEntity") not in LOCAL_ENTITY_TYPES:
            problems.append(_("localEntity must be one of %(choices)s") % {"choices": ", ".join(LOCAL_ENTITY_TYPES)})
        elif item["localEntity"] not in locals_:
            problems.append(_("%(provider)s does not sync %(entity)s") % {
                "provider": provider_name, "entity": entity_type_label(item["localEntity"])})
        if not isinstance(item.get("localField"), str) or not _FIELD_PATH.match(item["localField"]) or len(item["localField"]) > 100:
            problems.append(_("localField must be a field name such as 'startTime'"))
        if not isinstance(item.get("remoteField"), str) or not _REMOTE_FIELD.match(item["remoteField"]):
            problems.append(_("remoteField must be a non-empty path such as 'start.dateTime'"))
        transform = item.get("transform", "none")
        if transform not in TRANSFORMS:
            problems.append(transform_choices_error())
        for key in ("transformConfig", "defaultValue"):
            if key in item and not _json_size_ok(item[key]):
                problems.append(_("%(key)s must be JSON of at most %(n)s bytes") % {"key": key, "n": MAX_JSON_VALUE_BYTES})
        if transform in TRANSFORMS and not problems:
            # paths, transformConfig and custom names, as the mapping engine will compile them
            # (the transform itself is known here, so mapping_errors has no word on it)
            problems += mapping_errors(item)
        if problems:
            errors[f"fieldMappings[{i}]"] = problems
        else:
            clean = {k: item[k] for k in ("localEntity", "localField", "remoteField") }
            clean["transform"] = transform
            for key in ("transformConfig", "defaultValue"):
                if key in item:
                    clean[key] = item[key]
            out["fieldMappings"].append(clean)

    filters = value.get("filters", [])
    if filters is None:
        filters = []
    if not isinstance(filters, list) or len(filters) > MAX_FILTERS:
        errors["filters"] = [_("must be a list of at most %(n)s items") % {"n": MAX_FILTERS}]
        filters = []
    out["filters"] = []
    for i, item in enumerate(filters):
        problems = []
        if not isinstance(item, dict):
            errors[f"filters[{i}]"] = [_("must be an object")]
            continue
        if set(item) - {"field", "operator", "value"}:
            problems.append(_("unknown keys %(keys)s") % {"keys": sorted(set(item) - {"field", "operator", "value"})})
        problems += filter_errors(item)
        if "value" not in item or not _json_size_ok(item.get("value")):
            problems.append(_("value is required (JSON, at most 4 KB)"))
        elif item.get("operator") == "contains" and not isinstance(item["value"], str):
            problems.append(_("contains needs a string value"))
        if problems:
            errors[f"filters[{i}]"] = problems
        else:
            out["filters"].append({"field": item["field"], "operator": item["operator"], "value": item["value"]})

    if errors:
        raise serializers.ValidationError(errors)
    return out


class IntegrationUpdateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200, required=False, allow_blank=False)
    description = StrictCharField(required=False, allow_blank=True, allow_null=True, max_length=2000)
    sync_settings = JSONObjectField(required=False)
    settings = JSONObjectField(required=False, help_text="The provider's settings (seed section ג), merged "
                               "over the stored object; e.g. calendars[], syncMeetings, autoCreateEvents.")
    conflict_policy = serializers.ChoiceField(choices=Integration.ConflictPolicy.choices, required=False)

    def validate_sync_settings(self, value):
        integration: Integration = self.context["integration"]
        merged = {**(integration.sync_settings or {}), **value} if isinstance(value, dict) else value
        return validate_sync_settings(merged, provider_id=integration.provider)

    def validate_settings(self, value):
        integration: Integration = self.context["integration"]
        merged = {**(integration.settings or {}), **value}
        if not _json_size_ok_bytes(merged, MAX_SETTINGS_BYTES):
            raise serializers.ValidationError(_("must be JSON of at most %(n)s bytes") % {"n": MAX_SETTINGS_BYTES})
        errors = adapter_for(get_provider(integration.provider)).settings_errors(merged)
        if errors:
            raise serializers.ValidationError(errors)
        return merged

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                _("nothing to update: send name, description, syncSettings, settings or conflictPolicy"))
        return attrs


class MappingPreviewSerializer(serializers.Serializer):
    """A sample record to map both ways; ``fieldMappings`` defaults to the integration's, then the provider's."""

    local_entity = serializers.ChoiceField(choices=LOCAL_ENTITY_TYPES)
    remote_entity = StrictCharField(max_length=100)
    local = JSONObjectField(required=False, help_text="A local record, camelCase as the entities API returns it.")
    remote = JSONObjectField(required=False, help_text="A provider record, as the provider's API returns it.")
    field_mappings = JSONListField(required=False, help_text="IntegrationFieldMapping items to try instead of the stored ones.")

    def validate_local(self, value):
        return self._sized(value)

    def validate_remote(self, value):
        return self._sized(value)

    def validate_field_mappings(self, value):
        integration: Integration = self.context["integration"]
        checked = validate_sync_settings({"direction": "bidirectional", "frequency": "manual", "fieldMappings": value},
                                         provider_id=integration.provider)
        return checked["fieldMappings"]

    def _sized(self, value):
        if not _json_size_ok_bytes(value, MAX_SETTINGS_BYTES):
            raise serializers.ValidationError(_("must be JSON of at most %(n)s bytes") % {"n": MAX_SETTINGS_BYTES})
        return value


class MappingPreviewOutputSerializer(serializers.Serializer):
    to_remote = JSONObjectField(allow_null=True, help_text="The local sample in the provider's shape (null without one).")
    to_local = JSONObjectField(allow_null=True, help_text="The remote sample as local fields (null without one).")
    notes = serializers.ListField(child=JSONObjectField(), help_text="Currency rates used, one object each.")
    mappings_source = serializers.ChoiceField(choices=["request", "integration", "default"])


class CredentialsConnectSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200, required=False, allow_blank=True)
    credentials = serializers.DictField(child=serializers.JSONField(), allow_empty=False)


class SyncRequestSerializer(serializers.Serializer):
    """POST /sync: optional ``full`` (forget the cursors: a full listing) or ``dryRun``."""

    full = StrictBooleanField(required=False, default=False)
    dry_run = StrictBooleanField(required=False, default=False)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": [_("the body must be a JSON object")]})
        unknown = sorted(set(data) - {"full", "dryRun", "dry_run"})
        if unknown:
            raise serializers.ValidationError({k: [_("unknown field")] for k in unknown})
        return super().to_internal_value(data)

    def validate(self, attrs):
        if attrs.get("full") and attrs.get("dry_run"):
            raise serializers.ValidationError(_("full and dryRun cannot be combined"))
        return attrs


class SyncProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField(allow_null=True)


class StatusSerializer(serializers.Serializer):
    status = StrictCharField()
    syncing = serializers.BooleanField()
    progress = SyncProgressSerializer(allow_null=True)
    last_sync_at = RFC3339DateTimeField(allow_null=True)
    last_sync_status = StrictCharField(allow_null=True)
    last_error = StrictCharField(allow_null=True)
    next_sync_at = RFC3339DateTimeField(allow_null=True)
    total_syncs = serializers.IntegerField()
    token_expires_at = RFC3339DateTimeField(allow_null=True)
