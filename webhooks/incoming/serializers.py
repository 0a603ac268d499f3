"""Input and output shapes of ``/api/webhooks/incoming``.

Stored shape = the seed's interfaces (camelCase inside the JSON columns:
``{"type": "create_entity", "config": {"entityType": …, "fieldMappings": {…}}}``).
The API parser turns request keys into snake_case (except inside free-form
dicts such as ``field_mappings``/``forward_headers``/``verification_config``),
so input is accepted in either case and normalised here; output is written
with snake_case structural keys and camelised by the renderer, which leaves
those free-form dicts untouched.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.utils.translation import gettext as _
from djangorestframework_camel_case.util import camel_to_underscore
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core import outbound
from core.crypto import TEXT_PREFIX, is_sealed
from core.fields import JSONObjectField, StrictBooleanField, StrictCharField
from entities.models import ENTITY_MODELS, entity_type_label
from entities.services import serializer_for
from webhooks import loops
from webhooks.incoming import conf
from webhooks.incoming.actions import ACTION_TYPES, local_field
from webhooks.models import SECRET_CONFIG_KEYS, IncomingWebhook
from webhooks.verification import SCHEMES, config_error, describe

MAX_ACTIONS = 20
MAX_MAPPINGS = 100
MAX_HEADERS = 50
MAX_PATH = 500
MAX_CONFIG_BYTES = 8192
MASK = "********"
MASKED_CONFIG_KEYS = SECRET_CONFIG_KEYS  # sealed at rest (IncomingWebhook.seal_plaintext_secrets)

# config key (camelCase, stored) ← accepted spellings
_CONFIG_KEYS = {
    "entityType": "entity_type",
    "fieldMappings": "field_mappings",
    "matchField": "match_field",
    "automationId": "automation_id",
    "forwardUrl": "forward_url",
    "forwardHeaders": "forward_headers",
    "retryAttempts": "retry_attempts",
    "retryDelaySeconds": "retry_delay_seconds",
    "signRequests": "sign_requests",
}
_SNAKE_TO_CAMEL = {snake: camel for camel, snake in _CONFIG_KEYS.items()}
_ALLOWED = {
    "create_entity": {"entityType", "fieldMappings"},
    "update_entity": {"entityType", "fieldMappings", "matchField"},
    "trigger_automation": {"automationId"},
    "forward": {"forwardUrl", "forwardHeaders", "retryAttempts", "retryDelaySeconds", "signRequests"},
}
_VERIFICATION_KEYS = {"signatureHeader", "toleranceSeconds", "clientState", "verifyToken", "publicKey"}
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}")
_AUTOMATION_ID_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,200}")


def _err(path: str, message: str) -> serializers.ValidationError:
    return serializers.ValidationError({path: [message]})


def _dot_path(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_PATH:
        raise _err(where, _("must be a dot path (1-%(n)s characters), e.g. customer.name") % {"n": MAX_PATH})
    if any(part == "" for part in value.split(".")):
        raise _err(where, _("must not have empty segments"))
    return value


def _headers(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _err(where, _("must be an object of header name → value"))
    if len(value) > MAX_HEADERS:
        raise _err(where, _("at most %(n)s headers") % {"n": MAX_HEADERS})
    for name, val in value.items():
        if not isinstance(name, str) or not _HEADER_NAME_RE.fullmatch(name):
            raise _err(where, _("%(name)s is not a valid header name") % {"name": repr(name)})
        if not isinstance(val, str) or len(val) > 4096 or re.search(r"[\r\n\x00]", val):
            raise _err(where, _("the value of %(name)s must be a single-line string of at most 4096 characters") % {"name": name})
    return dict(value)


def _writable_fields(entity_type: str) -> set[str]:
    fields = serializer_for(entity_type)().fields
    return {name for name, f in fields.items() if not f.read_only}


def validate_action(raw: Any, index: int) -> dict[str, Any]:
    where = f"actions[{index}]"
    if not isinstance(raw, dict):
        raise _err(where, _("must be an object with type and config"))
    action_type = raw.get("type")
    if action_type not in ACTION_TYPES:
        raise _err(f"{where}.type", _("unknown action type %(type)s; one of %(choices)s") % {
            "type": repr(action_type), "choices": ", ".join(ACTION_TYPES)})
    extra = set(raw) - {"type", "config"}
    if extra:
        raise _err(where, _("unknown keys: %(keys)s") % {"keys": ", ".join(sorted(extra))})
    config_in = raw.get("config") or {}
    if not isinstance(config_in, dict):
        raise _err(f"{where}.config", _("must be an object"))
    config: dict[str, Any] = {}
    for key, value in config_in.items():
        camel = key if key in _CONFIG_KEYS else _SNAKE_TO_CAMEL.get(key)
        if camel is None:
            raise _err(f"{where}.config", _("unknown key %(key)s") % {"key": repr(key)})
        if camel in _ALLOWED[action_type]:
            config[camel] = value
        elif value not in (None, "", {}, []):
            raise _err(f"{where}.config.{camel}", _("not used by %(type)s") % {"type": action_type})
    cfg = f"{where}.config"
    if action_type in ("create_entity", "update_entity"):
        entity_type = config.get("entityType")
        if entity_type not in ENTITY_MODELS:
            raise _err(f"{cfg}.entityType", _("unknown entity type %(type)s; one of %(choices)s") % {
                "type": repr(entity_type), "choices": ", ".join(ENTITY_MODELS)})
        mappings = config.get("fieldMappings")
        if not isinstance(mappings, dict) or not mappings:
            raise _err(f"{cfg}.fieldMappings", _("must be a non-empty object of local field → dot path in the payload"))
        if len(mappings) > MAX_MAPPINGS:
            raise _err(f"{cfg}.fieldMappings", _("at most %(n)s mappings") % {"n": MAX_MAPPINGS})
        writable = _writable_fields(entity_type)
        for local, path in mappings.items():
            if not isinstance(local, str) or local_field(local) not in writable:
                raise _err(f"{cfg}.fieldMappings", _("%(field)s is not a writable field of %(type)s") % {
                    "field": repr(local), "type": entity_type_label(entity_type)})
            _dot_path(path, f"{cfg}.fieldMappings.{local}")
        if action_type == "update_entity":
            match = config.get("matchField")
            if not isinstance(match, str) or match not in mappings:
                raise _err(f"{cfg}.matchField", _("must be one of the fieldMappings keys (its value identifies the row)"))
            model_field = local_field(match)
            try:
                field = ENTITY_MODELS[entity_type]._meta.get_field(model_field)
            except Exception:  # noqa: BLE001 - FieldDoesNotExist
                raise _err(f"{cfg}.matchField", _("%(field)s is not a field of %(type)s") % {
                    "field": repr(match), "type": entity_type_label(entity_type)}) from None
            if field.get_internal_type() == "JSONField":
                raise _err(f"{cfg}.matchField", _("%(field)s cannot identify a row") % {"field": repr(match)})
    elif action_type == "trigger_automation":
        automation_id = config.get("automationId")
        if not isinstance(automation_id, str) or not _AUTOMATION_ID_RE.fullmatch(automation_id):
            raise _err(f"{cfg}.automationId", _("must be an automation id (1-200 letters, digits, _ . : -)"))
    elif action_type == "forward":
        url = config.get("forwardUrl")
        if not isinstance(url, str):
            raise _err(f"{cfg}.forwardUrl", _("is required (an http or https URL)"))
        try:
            outbound.check_url(url, allow_private=conf.allow_private_targets())
            loops.check_not_own_origin(url)
        except outbound.OutboundRefused as exc:
            raise _err(f"{cfg}.forwardUrl", _("refused: %(reason)s") % {"reason": exc.in_words()}) from None
        if "forwardHeaders" in config and config["forwardHeaders"] is not None:
            config["forwardHeaders"] = _headers(config["forwardHeaders"], f"{cfg}.forwardHeaders")
        else:
            config.pop("forwardHeaders", None)
        for key, low, high in (("retryAttempts", 1, 10), ("retryDelaySeconds", 1, 86400)):
            if config.get(key) is None:
                config.pop(key, None)
                continue
            value = config[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise _err(f"{cfg}.{key}", _("must be an integer between %(low)s and %(high)s") % {"low": low, "high": high})
        if config.get("signRequests") is not None and not isinstance(config["signRequests"], bool):
            raise _err(f"{cfg}.signRequests", _("must be true or false"))
    return {"type": action_type, "config": config}


def validate_filters(raw: Any, previous: Any = None) -> dict[str, Any] | None:
    """The seed's filter shape; header values sent back masked (``[redacted]``, as answers
    show filters on credential-like headers) keep the stored value of the same header."""
    if raw is None or raw == {}:
        return None
    if not isinstance(raw, dict):
        raise _err("filters", _("must be an object with headers, bodyPath and bodyValue"))
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = {"body_path": "bodyPath", "body_value": "bodyValue"}.get(key, key)
        if name not in ("headers", "bodyPath", "bodyValue"):
            raise _err("filters", _("unknown key %(key)s; use headers, bodyPath, bodyValue") % {"key": repr(key)})
        out[name] = value
    if out.get("headers") is not None:
        out["headers"] = _headers(out["headers"], "filters.headers")
        stored_headers = (previous or {}).get("headers") if isinstance(previous, dict) else None
        stored = {str(k).lower(): v for k, v in (stored_headers or {}).items()}
        for name, value in out["headers"].items():
            try:
                out["headers"][name] = outbound.unmask_header(value, stored.get(name.lower()))
            except ValueError as exc:
                raise _err(f"filters.headers.{name}", str(exc)) from None
    else:
        out.pop("headers", None)
    if out.get("bodyPath") is not None:
        _dot_path(out["bodyPath"], "filters.bodyPath")
    else:
        out.pop("bodyPath", None)
        if "bodyValue" in out:
            raise _err("filters.bodyValue", _("needs a bodyPath"))
    if "bodyValue" in out and isinstance(out["bodyValue"], dict | list):
        raise _err("filters.bodyValue", _("must be a string, number, boolean or null"))
    return out or None


@extend_schema_field({
    "type": "object",
    "properties": {key: {} for key in sorted(_VERIFICATION_KEYS)},
    "additionalProperties": False,
    "description": "Scheme settings; which keys a scheme needs is in the provider catalog.",
})
class VerificationConfigField(JSONObjectField):
    pass


class IncomingWebhookInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200, allow_blank=False, trim_whitespace=True)
    description = StrictCharField(max_length=2000, required=False, allow_blank=True, allow_null=True)
    secret = StrictCharField(max_length=1000, min_length=8, required=False, write_only=True, trim_whitespace=False)
    actions = serializers.ListField(child=JSONObjectField(), max_length=MAX_ACTIONS)
    filters = JSONObjectField(required=False, allow_null=True)
    is_enabled = StrictBooleanField(required=False)
    verification_scheme = serializers.ChoiceField(choices=SCHEMES, required=False)
    verification_config = VerificationConfigField(required=False, allow_null=True)

    def validate_verification_config(self, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("must be an object"))
        if len(json.dumps(value)) > MAX_CONFIG_BYTES:
            raise serializers.ValidationError(_("at most %(n)s bytes") % {"n": MAX_CONFIG_BYTES})
        unknown = set(value) - _VERIFICATION_KEYS
        if unknown:
            raise serializers.ValidationError(_("unknown keys: %(keys)s") % {"keys": ", ".join(sorted(unknown))})
        previous = (self.instance.verification_config or {}) if self.instance is not None else {}
        out = {}
        for key, val in value.items():
            if key in MASKED_CONFIG_KEYS and val == MASK:
                val = previous.get(key)  # the masked value sent back unchanged
            elif is_sealed(val):
                raise serializers.ValidationError(_("%(key)s must not start with %(prefix)s") % {"key": key, "prefix": TEXT_PREFIX})
            if key == "toleranceSeconds":
                if isinstance(val, bool) or not isinstance(val, int) or not 1 <= val <= 86400:
                    raise serializers.ValidationError(_("toleranceSeconds must be an integer between 1 and 86400"))
            elif val is not None and not isinstance(val, str):
                raise serializers.ValidationError(_("%(key)s must be a string") % {"key": key})
            if val is not None:
                out[key] = val
        if "signatureHeader" in out and not _HEADER_NAME_RE.fullmatch(out["signatureHeader"]):
            raise serializers.ValidationError(_("signatureHeader must be a header name"))
        return out

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Validated here, not per field, so error keys are flat paths ("actions[0].config.forwardUrl").
        if "actions" in attrs:
            attrs["actions"] = [validate_action(item, i) for i, item in enumerate(attrs["actions"])]
            _keep_masked_forward_headers(attrs["actions"], self.instance.actions if self.instance else None)
        if "filters" in attrs:
            attrs["filters"] = validate_filters(attrs["filters"], self.instance.filters if self.instance else None)
        scheme = attrs.get("verification_scheme") or (self.instance.verification_scheme if self.instance else "hmac")
        config = attrs.get("verification_config")
        if config is None:
            config = (self.instance.verification_config or {}) if self.instance else {}
        problem = config_error(scheme, config, [attrs.get("secret")])
        if problem:
            raise serializers.ValidationError({"verification_config": [problem]})
        return attrs


class RotateSecretInputSerializer(serializers.Serializer):
    secret = StrictCharField(max_length=1000, min_length=8, required=False, trim_whitespace=False)


def _keep_masked_forward_headers(actions: list[dict[str, Any]], previous: Any) -> None:
    """Credential-looking forward headers are answered masked; one sent back masked keeps
    the stored (sealed) value of the same header of the same action, as long as the
    action's ``forwardUrl`` keeps its origin (scheme, host, port): a stored credential
    never follows a new destination."""
    stored: dict[tuple[int, str], Any] = {}
    origins: dict[int, Any] = {}
    for i, action in enumerate(previous if isinstance(previous, list) else []):
        config = (action.get("config") or {}) if isinstance(action, dict) else {}
        headers = config.get("forwardHeaders") or {}
        stored.update({(i, str(name).lower()): value for name, value in headers.items()})
        origins[i] = outbound.origin(config.get("forwardUrl") or "")
    for i, action in enumerate(actions):
        config = action.get("config") or {}
        headers = config.get("forwardHeaders") or {}
        moved = outbound.origin(config.get("forwardUrl") or "") != origins.get(i)
        for name, value in headers.items():
            try:
                headers[name] = outbound.unmask_header(value, stored.get((i, name.lower())), origin_changed=moved)
            except ValueError as exc:
                raise _err(f"actions[{i}].config.forwardHeaders.{name}", str(exc)) from None


def _action_out(action: dict[str, Any]) -> dict[str, Any]:
    config = action.get("config") or {}
    if config.get("forwardHeaders"):
        config = {**config, "forwardHeaders": outbound.redact_headers(config["forwardHeaders"])}
    return {
        "type": action.get("type"),
        "config": {_CONFIG_KEYS.get(k, camel_to_underscore(k)): v for k, v in config.items()},
    }


def _filters_out(filters: dict[str, Any] | None) -> dict[str, Any] | None:
    if not filters:
        return None
    if isinstance(filters.get("headers"), dict):  # values on credential-like headers are secrets
        filters = {**filters, "headers": outbound.redact_headers(filters["headers"])}
    return {{"bodyPath": "body_path", "bodyValue": "body_value"}.get(k, k): v for k, v in filters.items()}


class IncomingWebhookOutputSerializer(serializers.Serializer):
    """The seed's IncomingWebhook without its secret (+ verification, rotation state)."""

    def to_representation(self, webhook: IncomingWebhook) -> dict[str, Any]:
        config = dict(webhook.verification_config or {})
        for key in MASKED_CONFIG_KEYS:
            if config.get(key):
                config[key] = MASK
        return {
            "id": str(webhook.id),
            "tenant_id": str(webhook.tenant_id),
            "name": webhook.name,
            "description": webhook.description,
            "url": webhook.url,
            "actions": [_action_out(a) for a in webhook.actions or []],
            "filters": _filters_out(webhook.filters),
            "last_received_at": webhook.last_received_at.isoformat() if webhook.last_received_at else None,
            "total_received": webhook.total_received,
            "is_enabled": webhook.is_enabled,
            "created_at": webhook.created_at.isoformat() if webhook.created_at else None,
            "updated_at": webhook.updated_at.isoformat() if webhook.updated_at else None,
            "verification_scheme": webhook.verification_scheme,
            "verification_config": config,
            "verification_description": describe(webhook.verification_scheme),
            "is_authenticated": webhook.verification_scheme != "none",
            "previous_secret_expires_at": (
                webhook.previous_secret_expires_at.isoformat()
                if webhook.previous_secret and webhook.previous_secret_expires_at
                else None
            ),
        }
