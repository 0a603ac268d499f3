"""The four incoming actions, as an explicit ``{action type: handler}`` dict.

A handler receives an :class:`ActionContext` and returns its outcome, a JSON
dict with at least ``status`` (``success``, ``failed`` or ``queued``). It runs
inside a savepoint of the processing transaction (tenant-scoped), so a failed
action rolls back only its own writes and the other actions still run.
Expected failures (validation, no matching row) are returned as outcomes;
anything raised is turned into a ``failed`` outcome by the caller.
"""

from __future__ import annotations

import hmac
import uuid
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_noop as N_
from djangorestframework_camel_case.util import camel_to_underscore
from rest_framework.exceptions import ValidationError as DRFValidationError

from core.words import Words, words
from entities import services as entity_services
from entities.models import ENTITY_MODELS, entity_type_words
from webhooks import loops
from webhooks.incoming.automations import AutomationContext, run_automation
from webhooks.incoming.context import ActionContext, ActionHandler, Outcome
from webhooks.incoming.forward import forward_enqueue
from webhooks.incoming.said import failed

_MISSING = object()


def dig(data: Any, path: str) -> Any:
    """Value at a dot path (``customer.name``, ``items.0.id``), or ``_MISSING``."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            if part not in current:
                return _MISSING
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            if not -len(current) <= index < len(current):
                return _MISSING
            current = current[index]
        else:
            return _MISSING
    return current


def local_field(name: str) -> str:
    """API-style (camelCase) or model-style (snake_case) field name → model field name."""
    return camel_to_underscore(name, no_underscore_before_number=True)


def mapped_data(payload: Any, mappings: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Apply ``{local field: dot path}``; returns the data and the paths not found."""
    data: dict[str, Any] = {}
    missing: list[str] = []
    for local, path in (mappings or {}).items():
        value = dig(payload, path)
        if value is _MISSING:
            missing.append(path)
            continue
        data[local_field(local)] = value
    return data, missing


def _validation_outcome(exc: Exception) -> Outcome:
    if isinstance(exc, DRFValidationError):
        detail = exc.detail
        return failed(words(N_("validation failed")), fields=_plain(detail))
    messages = getattr(exc, "messages", None) or [str(exc)]
    return {"status": "failed", "error": "; ".join(str(m) for m in messages)[:500]}


def _plain(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {str(k): _plain(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_plain(v) for v in detail]
    return str(detail)


def create_entity(ctx: ActionContext) -> Outcome:
    entity_type = ctx.config.get("entityType")
    data, missing = mapped_data(ctx.payload, ctx.config.get("fieldMappings") or {})
    try:
        instance = entity_services.entity_create(
            tenant=ctx.tenant, entity_type=entity_type, data=data, source=loops.webhook_source(ctx.headers)
        )
    except (DRFValidationError, DjangoValidationError) as exc:
        return _created_outcome(entity_type, exc, missing)
    return _created_outcome(entity_type, instance, missing)


def create_entities(contexts: list[ActionContext]) -> list[Outcome]:
    """``create_entity`` of many requests at once (the drain's batch): the same outcomes.

    Contexts are grouped by tenant, entity type and event source, and each group
    is one :func:`entities.services.entity_bulk_create` (one validation per
    record, one INSERT for the rows, one for their events). A record the
    entity's serializer refuses gets its own ``failed`` outcome, as
    ``create_entity`` gives it; anything raised (a database error) rolls the
    group back and raises, and the caller falls back to one request at a time.
    """
    groups: dict[tuple, list[int]] = {}
    prepared = []
    for i, ctx in enumerate(contexts):
        entity_type = ctx.config.get("entityType")
        data, missing = mapped_data(ctx.payload, ctx.config.get("fieldMappings") or {})
        prepared.append((entity_type, data, missing))
        groups.setdefault((ctx.tenant.id, entity_type, loops.webhook_source(ctx.headers)), []).append(i)
    outcomes: list[Outcome] = [{} for _ in contexts]
    for (_tenant_id, entity_type, source), members in groups.items():
        created = entity_services.entity_bulk_create(
            tenant=contexts[members[0]].tenant, entity_type=entity_type,
            items=[prepared[i][1] for i in members], source=source,
        )
        for i, result in zip(members, created, strict=True):
            outcomes[i] = _created_outcome(entity_type, result, prepared[i][2])
    return outcomes


def _created_outcome(entity_type: str, result: Any, missing: list[str]) -> Outcome:
    if isinstance(result, DRFValidationError | DjangoValidationError):
        outcome = _validation_outcome(result)
    else:
        outcome = {"status": "success", "entityType": entity_type, "entityId": str(result.id)}
    if missing:
        outcome["missingPaths"] = missing
    return outcome


def update_entity(ctx: ActionContext) -> Outcome:
    entity_type = ctx.config.get("entityType")
    mappings = ctx.config.get("fieldMappings") or {}
    match_local = ctx.config.get("matchField")
    match_path = mappings.get(match_local)
    match_value = dig(ctx.payload, match_path) if match_path else _MISSING
    if match_value is _MISSING:
        return failed(words(N_("match value not found at %(path)s"), path=repr(match_path)))
    if isinstance(match_value, dict | list) or match_value is None:
        return failed(words(N_("match value must be a string or a number")))
    model = ENTITY_MODELS[entity_type]
    lookup = local_field(match_local)
    try:
        matches = list(model.objects.filter(tenant=ctx.tenant, **{lookup: match_value})[:2])
    except (DjangoValidationError, ValueError, TypeError):
        return failed(words(N_("%(value)s is not a valid %(field)s"), value=repr(match_value), field=str(match_local)))
    if not matches:
        return failed(words(N_("no %(type)s with %(field)s = %(value)s"), type=entity_type_words(entity_type),
                            field=str(match_local), value=str(match_value)[:200]))
    if len(matches) > 1:
        return failed(words(N_("several %(type)s rows have %(field)s = %(value)s"), type=entity_type_words(entity_type),
                            field=str(match_local), value=str(match_value)[:200]))
    data, missing = mapped_data(ctx.payload, mappings)
    data.pop(lookup, None)
    try:
        instance = entity_services.entity_update(
            instance=matches[0], data=data, tenant=ctx.tenant, source=loops.webhook_source(ctx.headers)
        )
    except (DRFValidationError, DjangoValidationError) as exc:
        return _validation_outcome(exc)
    outcome = {"status": "success", "entityType": entity_type, "entityId": str(instance.id)}
    if missing:
        outcome["missingPaths"] = missing
    return outcome


def trigger_automation(ctx: ActionContext) -> Outcome:
    return run_automation(
        AutomationContext(
            tenant_id=ctx.tenant.id,
            automation_id=str(ctx.config.get("automationId")),
            payload=ctx.payload,
            headers=dict(ctx.headers or {}),
            webhook_id=ctx.webhook.id,
            webhook_log_id=ctx.log.id if isinstance(ctx.log.id, uuid.UUID) else None,
        )
    )


def forward(ctx: ActionContext) -> Outcome:
    return forward_enqueue(ctx)


#: Action type → handler. Adding an action is a visible, reviewed change here
#: plus its config validation in serializers.validate_action.
ACTIONS: dict[str, ActionHandler] = {
    "create_entity": create_entity,
    "update_entity": update_entity,
    "trigger_automation": trigger_automation,
    "forward": forward,
}

ACTION_TYPES: tuple[str, ...] = tuple(ACTIONS)


def filters_match(filters: dict[str, Any] | None, *, headers: dict[str, str], payload: Any) -> tuple[bool, Words | str]:
    """Seed ``WebhookFilter``: headers exact match (names case-insensitive), bodyPath = bodyValue.

    Returns (matched, reason-if-not: words, core.words; ``english()`` is the text the log keeps). A ``bodyPath`` without ``bodyValue``
    only requires the path to exist. Form bodies carry strings only, so a
    number or boolean ``bodyValue`` also matches its string form.
    """
    if not filters:
        return True, ""
    lowered = {str(k).lower(): v for k, v in (headers or {}).items()}
    for name, expected in (filters.get("headers") or {}).items():
        actual = lowered.get(str(name).lower())
        # Timing-safe: a filter value on a credential header is a secret (None never matches).
        if not (isinstance(actual, str) and isinstance(expected, str) and _same_text(actual, expected)):
            return False, words(N_("header %(name)s does not match"), name=str(name))
    path = filters.get("bodyPath")
    if path:
        value = dig(payload, path)
        if value is _MISSING:
            return False, words(N_("%(path)s not in body"), path=str(path))
        if "bodyValue" in filters and not _loose_equal(value, filters["bodyValue"]):
            return False, words(N_("%(path)s does not equal the filter value"), path=str(path))
    return True, ""


def _same_text(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def _loose_equal(actual: Any, expected: Any) -> bool:
    if actual == expected and type(actual) is type(expected):
        return True
    if isinstance(actual, bool) or isinstance(expected, bool):
        return str(actual).lower() == str(expected).lower()
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return actual == expected
    if isinstance(actual, str) and isinstance(expected, int | float):
        return actual == str(expected)
    if isinstance(expected, str) and isinstance(actual, int | float):
        return expected == str(actual)
    return False
