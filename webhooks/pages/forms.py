"""Form fields ↔ the API's input shape. No rule lives here: what the form sends goes through
the API's input serializers and services, which accept it or say why not.

Field names (the templates use the same):

- incoming: ``name``, ``description``, ``is_enabled``, ``verification_scheme``,
  ``vc-<key>`` (verification config), ``filter-header-name`` / ``filter-header-value``
  (repeated), ``filter-body-path``, ``filter-body-value``, and per action ``i`` (``action-index``
  repeated): ``a<i>-type``, ``a<i>-entityType``, ``a<i>-map-local`` / ``a<i>-map-path``
  (repeated), ``a<i>-matchField``, ``a<i>-automationId``, ``a<i>-forwardUrl``,
  ``a<i>-fh-name`` / ``a<i>-fh-value`` (repeated), ``a<i>-retryAttempts``,
  ``a<i>-retryDelaySeconds``, ``a<i>-signRequests``;
- outgoing: the model's field names, ``header-name`` / ``header-value`` (repeated),
  ``trigger-<entityType>`` (repeated, one per event), ``remove_secret``.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import QueryDict

from core.parsers import json_loads
from entities.models import ENTITY_EVENTS, ENTITY_TYPES

VERIFICATION_KEYS = ("signatureHeader", "toleranceSeconds", "clientState", "verifyToken", "publicKey")


def _pairs(post: QueryDict, names: str, values: str) -> list[tuple[str, str]]:
    return [(n.strip(), v) for n, v in zip(post.getlist(names), post.getlist(values), strict=False) if n.strip()]


def _int_or_text(value: str) -> Any:
    """A number typed in a number field; anything else is passed on for the API to refuse."""
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return value


def _scalar(value: str) -> Any:
    """The filter's expected value: a JSON number, true, false or null as such, else the text."""
    text = value.strip()
    if text in ("true", "false", "null"):
        return json_loads(text)
    try:
        number = json_loads(text)
    except ValueError:
        return value
    return number if isinstance(number, int | float) else value


# --------------------------------------------------------------------------- incoming
def incoming_actions(post: QueryDict) -> list[dict[str, Any]]:
    actions = []
    for index in post.getlist("action-index"):
        p = f"a{index}-"
        action_type = post.get(p + "type", "")
        config: dict[str, Any] = {}
        if action_type in ("create_entity", "update_entity"):
            config["entityType"] = post.get(p + "entityType", "")
            config["fieldMappings"] = dict(_pairs(post, p + "map-local", p + "map-path"))
            if action_type == "update_entity":
                config["matchField"] = post.get(p + "matchField", "").strip()
        elif action_type == "trigger_automation":
            config["automationId"] = post.get(p + "automationId", "").strip()
        elif action_type == "forward":
            config["forwardUrl"] = post.get(p + "forwardUrl", "").strip()
            headers = dict(_pairs(post, p + "fh-name", p + "fh-value"))
            if headers:
                config["forwardHeaders"] = headers
            for key in ("retryAttempts", "retryDelaySeconds"):
                number = _int_or_text(post.get(p + key, ""))
                if number is not None:
                    config[key] = number
            config["signRequests"] = post.get(p + "signRequests") == "on"
        actions.append({"type": action_type, "config": config})
    return actions


def incoming_data(post: QueryDict) -> dict[str, Any]:
    """The POSTed form as IncomingWebhookInputSerializer input."""
    filters: dict[str, Any] = {}
    headers = dict(_pairs(post, "filter-header-name", "filter-header-value"))
    if headers:
        filters["headers"] = headers
    body_path = post.get("filter-body-path", "").strip()
    if body_path:
        filters["bodyPath"] = body_path
        filters["bodyValue"] = _scalar(post.get("filter-body-value", ""))
    config: dict[str, Any] = {}
    for key in VERIFICATION_KEYS:
        value = post.get(f"vc-{key}", "")
        if value.strip():
            config[key] = _int_or_text(value) if key == "toleranceSeconds" else value.strip()
    return {
        "name": post.get("name", ""),
        "description": post.get("description", ""),
        "is_enabled": post.get("is_enabled") == "on",
        "verification_scheme": post.get("verification_scheme", "hmac"),
        "verification_config": config,
        "actions": incoming_actions(post),
        "filters": filters or None,
    }


def incoming_draft(data: dict[str, Any]) -> dict[str, Any]:
    """API-shaped data (input, or the output serializer's answer) → what the form shows."""
    actions = []
    for action in data.get("actions") or []:
        config = {_camel(k): v for k, v in (action.get("config") or {}).items()}
        actions.append({
            "type": action.get("type"),
            "entityType": config.get("entityType") or "",
            "mappings": list((config.get("fieldMappings") or {}).items()),
            "matchField": config.get("matchField") or "",
            "automationId": config.get("automationId") or "",
            "forwardUrl": config.get("forwardUrl") or "",
            "forwardHeaders": list((config.get("forwardHeaders") or {}).items()),
            "retryAttempts": config.get("retryAttempts") or "",
            "retryDelaySeconds": config.get("retryDelaySeconds") or "",
            "signRequests": config.get("signRequests", True) is not False,
        })
    filters = {_camel(k): v for k, v in (data.get("filters") or {}).items()}
    body_value = filters.get("bodyValue")
    return {
        "name": data.get("name") or "",
        "description": data.get("description") or "",
        "is_enabled": data.get("is_enabled", True),
        "verification_scheme": data.get("verification_scheme") or "hmac",
        "verification_config": {_camel(k): v for k, v in (data.get("verification_config") or {}).items()},
        "actions": actions,
        "filter_headers": list((filters.get("headers") or {}).items()),
        "filter_body_path": filters.get("bodyPath") or "",
        "filter_body_value": "" if body_value is None and "bodyPath" not in filters else
        (body_value if isinstance(body_value, str) else json.dumps(body_value)),
    }


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


# --------------------------------------------------------------------------- outgoing
def outgoing_triggers(post: QueryDict) -> list[dict[str, Any]]:
    out = []
    for entity_type in ENTITY_TYPES:
        events = [e for e in post.getlist(f"trigger-{entity_type}") if e in ENTITY_EVENTS]
        if events:
            out.append({"entityType": entity_type, "events": events})
    return out


def outgoing_data(post: QueryDict, *, creating: bool) -> dict[str, Any]:
    """The POSTed form as OutgoingWebhookInputSerializer input. The secret field left empty
    keeps the stored secret; "remove" clears it."""
    data: dict[str, Any] = {
        "name": post.get("name", ""),
        "description": post.get("description", ""),
        "url": post.get("url", "").strip(),
        "method": post.get("method", "POST"),
        "headers": dict(_pairs(post, "header-name", "header-value")) or None,
        "triggers": outgoing_triggers(post),
        "payload_template": post.get("payload_template", ""),
        "sign_requests": post.get("sign_requests") == "on",
        "signature_header": post.get("signature_header", "").strip() or "X-Webhook-Signature",
        "signature_scheme": post.get("signature_scheme", "hex"),
        "retry_strategy": post.get("retry_strategy", "linear"),
        "is_enabled": post.get("is_enabled") == "on",
    }
    for key in ("retry_attempts", "retry_delay_seconds", "timeout_seconds"):
        number = _int_or_text(post.get(key, ""))
        if number is not None:
            data[key] = number
    secret = post.get("signature_secret", "")
    if post.get("remove_secret") == "on":
        data["signature_secret"] = ""
    elif secret:
        data["signature_secret"] = secret
    return data


def outgoing_draft(data: dict[str, Any]) -> dict[str, Any]:
    """API-shaped data → what the form shows (the secret never)."""
    chosen = {t.get("entityType"): list(t.get("events") or []) for t in data.get("triggers") or [] if isinstance(t, dict)}
    return {
        "name": data.get("name") or "",
        "description": data.get("description") or "",
        "url": data.get("url") or "",
        "method": data.get("method") or "POST",
        "headers": list((data.get("headers") or {}).items()),
        "triggers": chosen,
        "payload_template": data.get("payload_template") or "",
        "sign_requests": bool(data.get("sign_requests")),
        "signature_header": data.get("signature_header") or "X-Webhook-Signature",
        "signature_scheme": data.get("signature_scheme") or "hex",
        "has_secret": bool(data.get("has_signature_secret")),
        "retry_strategy": data.get("retry_strategy") or "linear",
        "retry_attempts": data.get("retry_attempts", 3),
        "retry_delay_seconds": data.get("retry_delay_seconds", 60),
        "timeout_seconds": data.get("timeout_seconds", 10),
        "is_enabled": data.get("is_enabled", True),
    }
