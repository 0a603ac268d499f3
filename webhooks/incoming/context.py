"""What an incoming action handler is given and returns: the contract between the
drain (:mod:`webhooks.incoming.process`) and every handler (:mod:`webhooks.incoming.actions`,
:mod:`webhooks.incoming.forward`), apart from the registry so that a handler module
never needs the registry that lists it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tenancy.models import Tenant
from webhooks.models import IncomingWebhook, WebhookLog


@dataclass
class ActionContext:
    tenant: Tenant
    webhook: IncomingWebhook
    log: WebhookLog
    index: int
    config: dict[str, Any]
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)
    inline_forward: bool = False


Outcome = dict[str, Any]
ActionHandler = Callable[[ActionContext], Outcome]
