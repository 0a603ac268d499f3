"""drf-spectacular hooks: slash-less paths (C4) and the error envelope (C5). The authenticators'
extensions live with the authenticators (tenancy.schema)."""


def strip_trailing_slashes(result, generator, request, public):
    """Routes accept both forms; document the seed's slash-less paths."""
    result["paths"] = {
        (path.rstrip("/") if len(path) > 1 else path): item for path, item in result.get("paths", {}).items()
    }
    return result


# --- The error envelope (C5), documented on every operation ----------------------

ERROR_COMPONENT = {
    "type": "object",
    "description": 'Every error: `{"error": {"code", "message", "fields"?}}`.',
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "example": "invalid"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "description": "Per-field messages (camelCase names) on 400 validation errors.",
                    "additionalProperties": True,
                },
            },
        }
    },
}

_ERROR_TEXT = {
    "400": "Invalid input (`fields` names each bad field), or a body that is not valid JSON.",
    "401": "No valid credentials (`not_authenticated`).",
    "403": "Authenticated, but not allowed (`permission_denied`).",
    "404": "No such object in the caller's tenant, or no such page.",
    "409": "The object is busy or in a state that forbids this (`conflict`).",
    "413": "The body is larger than the limit (`payload_too_large`).",
    "415": "The body is not `application/json` (`unsupported_media_type`).",
}

#: Operations that answer 409 besides the common codes: (method, path).
CONFLICT_OPERATIONS = {
    ("post", "/api/webhook-logs/{logId}/replay"),
    ("post", "/api/integrations/{id}/refresh"),
    ("post", "/api/integrations/{id}/sync"),
    ("get", "/api/integrations/connect/{provider}"),  # provider_not_configured
}


def document_errors(result, generator, request, public):
    """Every operation documents the error envelope for each code it can answer.

    All authenticated operations: 400 (bad query or body), 401, 403, 404 (unknown
    id, or a page past the end); with a body also 413 and 415; 409 where a state
    conflict is possible (CONFLICT_OPERATIONS).
    """
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_COMPONENT
    ref = {"$ref": "#/components/schemas/Error"}
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = ["400", "404"]
            security = operation.get("security") or []
            if security and {} not in security:  # {} = anonymous allowed
                codes += ["401", "403"]
            if "requestBody" in operation:
                codes += ["413", "415"]
            if (method, path) in CONFLICT_OPERATIONS:
                codes.append("409")
            for code in codes:
                operation["responses"].setdefault(
                    code, {"description": _ERROR_TEXT[code], "content": {"application/json": {"schema": ref}}}
                )
    return result
