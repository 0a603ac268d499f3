"""The automation registry: the hook point ``trigger_automation`` calls.

The automations module itself (AutomationRule, seed file 09) is specified
elsewhere. Until it lands, and afterwards as its integration point, this is
the whole contract:

* An automation is a callable ``handler(ctx: AutomationContext) -> dict | None``
  registered under a string id with :func:`register` (usually as a decorator,
  in an ``AppConfig.ready``)::

      from webhooks.incoming.automations import register

      @register("notify_team")
      def notify_team(ctx):
          ...                      # runs inside the tenant's transaction
          return {"notified": 3}   # stored as the run's output (JSON)

* A provider of tenant-defined automations (rules stored in the database)
  installs a *resolver* with :func:`set_resolver`: ``resolver(tenant_id,
  automation_id) -> handler | None``. The default resolver only looks in the
  code registry.

* :func:`run_automation` is what the ``trigger_automation`` action calls: it
  resolves the handler, runs it in a savepoint inside the tenant scope,
  records an :class:`~webhooks.incoming.models.AutomationRun` row (success or
  failed, with the output or the error) and publishes
  ``automation.triggered`` to the tenant's browsers. Handlers must be
  idempotent: a request can be reprocessed from the admin.

One built-in automation, ``record``, does nothing but get recorded; it lets a
tenant wire and test a webhook before real automations exist.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_noop as N_

from core.realtime import publish
from core.words import Words, english, words

MAX_AUTOMATION_ID_LENGTH = 200


@dataclass(frozen=True)
class AutomationContext:
    tenant_id: uuid.UUID
    automation_id: str
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)
    webhook_id: uuid.UUID | None = None
    webhook_log_id: uuid.UUID | None = None


AutomationHandler = Callable[[AutomationContext], dict | None]
Resolver = Callable[[uuid.UUID, str], AutomationHandler | None]

#: automation id -> handler (code-defined automations).
REGISTRY: dict[str, AutomationHandler] = {}


class UnknownAutomation(LookupError):
    """No automation under that id for that tenant."""


def register(automation_id: str) -> Callable[[AutomationHandler], AutomationHandler]:
    """Decorator: make ``handler`` available to ``trigger_automation`` as ``automation_id``."""

    def decorator(handler: AutomationHandler) -> AutomationHandler:
        REGISTRY[automation_id] = handler
        return handler

    return decorator


def unregister(automation_id: str) -> None:
    REGISTRY.pop(automation_id, None)


def _default_resolver(tenant_id: uuid.UUID, automation_id: str) -> AutomationHandler | None:
    return REGISTRY.get(automation_id)


_resolver: Resolver = _default_resolver


def set_resolver(resolver: Resolver | None) -> None:
    """Install the automations module's resolver (``None`` restores the code registry)."""
    global _resolver
    _resolver = resolver or _default_resolver


def resolve(tenant_id: uuid.UUID, automation_id: str) -> AutomationHandler:
    handler = _resolver(tenant_id, automation_id)
    if handler is None:
        raise UnknownAutomation(automation_id)
    return handler


@register("record")
def _record(ctx: AutomationContext) -> dict:
    """Built-in no-op: the run row itself is the effect."""
    return {"recorded": True}


def run_automation(ctx: AutomationContext) -> dict[str, Any]:
    """Resolve, run and record one automation; returns the action outcome (never raises).

    Must be called inside the tenant's transaction (the incoming processing
    task is). The handler runs in a savepoint so its failure rolls back only
    its own writes, and the failed run is still recorded.
    """
    from webhooks.incoming.models import AutomationRun

    started = time.monotonic()
    status, output, error = AutomationRun.Status.SUCCESS, None, None
    said: Words | str | None = None
    try:
        handler = resolve(ctx.tenant_id, ctx.automation_id)
        with transaction.atomic():
            output = handler(ctx)
    except UnknownAutomation:
        said = words(N_("no automation registered as %(id)s"), id=repr(ctx.automation_id))
        status, error = AutomationRun.Status.FAILED, english(said)
    except Exception as exc:  # noqa: BLE001 - a handler's bug is recorded on its run, not raised
        status, error = AutomationRun.Status.FAILED, f"{type(exc).__name__}: {exc}"[:1000]  # its own words: data
    if output is not None and not isinstance(output, dict):
        output = {"value": output}
    run = AutomationRun.objects.create(
        tenant_id=ctx.tenant_id,
        automation_id=ctx.automation_id,
        webhook_id=ctx.webhook_id,
        webhook_log_id=ctx.webhook_log_id,
        status=status,
        payload=ctx.payload,
        output=_jsonable(output),
        error_message=error,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    publish(
        ctx.tenant_id,
        "automation.triggered",
        {
            "automationId": ctx.automation_id,
            "runId": str(run.id),
            "status": status,
            "webhookId": str(ctx.webhook_id) if ctx.webhook_id else None,
        },
    )
    outcome: dict[str, Any] = {"status": status, "automationId": ctx.automation_id, "runId": str(run.id)}
    if error:
        outcome["error"] = error
        if said is not None:
            outcome["errorWords"] = said  # the error said in a reader's language (webhooks.incoming.said)
    return outcome


def _jsonable(value: Any) -> Any:
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return None if value is None else json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=str))
