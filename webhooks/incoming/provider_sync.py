"""The ``sync_integration`` automation: a verified provider webhook wakes an incremental sync
run of the tenant's integration with that provider (issue 15 item 4), instead of waiting for
its schedule.

Wire it as an incoming webhook whose verification scheme is the provider's (``quickbooks``:
intuit-signature with the app's verifier token; ``xero``: x-xero-signature with the webhook
key) and whose action is ``{"type": "trigger_automation", "config": {"automationId":
"sync_integration"}}``. The payload is a notification only (QuickBooks and Xero send ids, never
the data): nothing in it is trusted beyond which account it is about; the run reads the
provider through its change feed (CDC, If-Modified-Since) as a scheduled run would.

Which integrations wake: the tenant's connected ones whose provider names this webhook's
scheme in the catalog (no provider ids here), narrowed by the account ids the payload names
(``adapter.notified_accounts``: realm ids, Xero tenant ids) against each connection's
(``adapter.account_of``). A run already running absorbs the notification (its listing is
about to read the change, or the next one will); the run is queued after the processing
transaction commits, by ``sync_request``.
"""

from __future__ import annotations

from typing import Any

from integrations.models import Integration
from integrations.providers.catalog import get_provider
from integrations.providers.registry import PROVIDERS, adapter_for
from integrations.sync.services import RunBusy, SyncNotConfigured, sync_request
from webhooks.incoming.automations import AutomationContext, register
from webhooks.models import IncomingWebhook

AUTOMATION_ID = "sync_integration"


@register(AUTOMATION_ID)
def sync_integration(ctx: AutomationContext) -> dict[str, Any]:
    webhook = IncomingWebhook.objects.filter(pk=ctx.webhook_id, tenant_id=ctx.tenant_id).first()
    scheme = webhook.verification_scheme if webhook is not None else None
    providers = [p.id for p in PROVIDERS.values() if scheme and p.webhook_scheme == scheme]
    started, running, skipped = [], [], []
    for integration in Integration.objects.filter(tenant_id=ctx.tenant_id, provider__in=providers,
                                                  status=Integration.Status.CONNECTED).order_by("created_at"):
        adapter = adapter_for(get_provider(integration.provider))
        accounts = adapter.notified_accounts(ctx.payload)
        if accounts is not None:
            values = {**(integration.connection_config or {}), **adapter.settings_values(integration.settings or {})}
            if adapter.account_of(values) not in accounts:
                skipped.append({"integrationId": str(integration.pk), "reason": "another account"})
                continue
        try:
            entry = sync_request(integration=integration)
        except RunBusy as busy:
            running.append(str(busy.log_id))
            continue
        except SyncNotConfigured as exc:
            skipped.append({"integrationId": str(integration.pk), "reason": str(exc)[:200]})
            continue
        started.append(str(entry.pk))
    if not providers:
        skipped.append({"reason": f"no provider signs its webhooks with the {scheme!r} scheme"})
    return {"started": started, "alreadyRunning": running, "skipped": skipped}
