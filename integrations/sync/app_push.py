"""Change notifications addressed to the provider app rather than to a registration (Dropbox:
one webhook URL per app, https://www.dropbox.com/developers/reference/webhooks): verify the
request with the provider's own webhook scheme keyed by the app secret, read which accounts
changed (``adapter.app_push_accounts``), and hand them to a task (``APP_PUSH_TASK``, by name:
services never import tasks) that starts an import run of every connected integration of
those accounts that imports in realtime (``app_push_wake``). The request does no
per-integration work: one notification may name accounts shared by up to ``MAX_INTEGRATIONS``
integrations, and Dropbox wants an answer within 10 s. A task the broker refuses is a 503, so
Dropbox calls again.

Cross-tenant on purpose and narrow (operator scope): the notification names provider
accounts, not tenants; only integration ids are read across tenants, each run is requested
in its own tenant's scope. A run already running is asked for one more run when it ends
(``sync_wake``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from core.kick import enqueue
from core.signatures import InboundRequest
from core.tenant_context import operator_scope, tenant_scope
from integrations import oauth
from integrations.models import Integration
from integrations.providers.catalog import get_provider
from integrations.providers.registry import WEBHOOK_SCHEMES, adapter_for
from integrations.selectors import wants_realtime_import
from integrations.sync.services import sync_wake

log = logging.getLogger("architect_studio.sync.push")

MAX_INTEGRATIONS = 500
#: At most this many account ids of one notification are handed on (the body is capped at 1 MB).
MAX_ACCOUNTS = 1000
APP_PUSH_TASK = "integrations.tasks.app_push_wake"


@dataclass(frozen=True)
class AppPushResult:
    status: int
    started: int = 0
    body: bytes = b""
    content_type: str = ""
    headers: dict[str, str] | None = None


def _pushing_adapter(provider_id: str):
    try:
        provider = get_provider(provider_id)
    except KeyError:
        return None, None
    adapter = adapter_for(provider)
    if adapter.app_push_account_key is None or provider.webhook_scheme not in WEBHOOK_SCHEMES:
        return None, None
    return provider, adapter


def app_push_handshake(*, provider_id: str, request: InboundRequest) -> AppPushResult:
    """The provider's URL check (Dropbox: ``GET ?challenge=`` echoed as text/plain, nosniff)."""
    provider, _adapter = _pushing_adapter(provider_id)
    if provider is None:
        return AppPushResult(404)
    answer = WEBHOOK_SCHEMES[provider.webhook_scheme].handshake(request, [], {})
    if answer is None:
        return AppPushResult(400)
    return AppPushResult(answer.status, body=answer.body, content_type=answer.content_type, headers=answer.headers)


def app_push_receive(*, provider_id: str, request: InboundRequest, body: Any) -> AppPushResult:
    provider, adapter = _pushing_adapter(provider_id)
    if provider is None:
        return AppPushResult(404)
    secret = oauth.app_config(provider).client_secret
    verdict = WEBHOOK_SCHEMES[provider.webhook_scheme].verify(request, [secret] if secret else [], {}, time.time())
    if not verdict.ok:
        log.warning("push: %s app notification refused: %s", provider.id, verdict.reason)
        return AppPushResult(401)
    accounts = adapter.app_push_accounts(body)
    if accounts is None:
        return AppPushResult(400)
    named = list(dict.fromkeys(a for a in accounts if isinstance(a, str) and a))[:MAX_ACCOUNTS]
    if not named:
        return AppPushResult(200)
    try:
        enqueue(APP_PUSH_TASK, args=[provider.id, named])
    except Exception as exc:  # noqa: BLE001 - the broker refused: the provider calls again on a non-2xx
        log.warning("push: %s app notification not queued (%s)", provider.id, type(exc).__name__)
        return AppPushResult(503)
    return AppPushResult(200)


def app_push_wake(*, provider_id: str, accounts: list[str]) -> int:
    """The task's work: wake each connected realtime integration of ``accounts`` once.
    Returns how many runs were started."""
    provider, adapter = _pushing_adapter(provider_id)
    if provider is None or not accounts:
        return 0
    key = f"connection_config__{adapter.app_push_account_key}__in"
    with operator_scope(f"sync push: {provider.id} app notification names accounts, not tenants"):
        found = list(Integration.objects.filter(provider=provider.id, status=Integration.Status.CONNECTED,
                                                **{key: list(accounts)[:MAX_ACCOUNTS]})
                     .order_by("pk").values_list("pk", "tenant_id").distinct()[:MAX_INTEGRATIONS])
    started = 0
    for integration_id, tenant_id in found:
        try:
            with tenant_scope(tenant_id):
                integration = Integration.objects.filter(pk=integration_id, tenant_id=tenant_id,
                                                         status=Integration.Status.CONNECTED).first()
                if integration is None or not wants_realtime_import(integration):
                    continue
            started += sync_wake(integration_id=integration_id, tenant_id=tenant_id)
        except Exception:  # noqa: BLE001 - one tenant's failure never stops the others
            log.exception("push: waking integration %s after a %s notification failed", integration_id, provider.id)
    return started
