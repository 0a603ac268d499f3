"""Provider webhooks to an integration (issue 15 item 4): a provider that pushes changes
(Stripe events, PayPlus and Cardcom payment callbacks) calls the integration's own URL,
``Integration.webhook_url`` (the seed's field), ``{PUBLIC_BASE_URL}/api/integrations/hooks/<id>``.

One flow, top-down (``hook_receive``):

1. find the integration the URL names -- the public endpoint knows no tenant, so the row's
   tenant is read under ``operator_scope`` (its id, provider and status only); everything
   after runs in that tenant's scope; unknown, disconnected or malformed ids are one 404;
   at most ``INTEGRATION_HOOK_RATE_LIMIT`` calls a second per integration (default 20; 0 off)
   go further, the rest are 429 -- an unsigned callback (Cardcom) makes the hub ask the
   provider, so without it anyone holding the URL could make the hub call the provider at will;
2. a provider that signs nothing the hub can check (Mailchimp, Priority BPM, monday.com without
   an app signing secret; ``ProviderAdapter.hook_url_secret``) must present the integration's URL
   secret (``integrations.hook_secret``: ``?secret=``, or Priority's static token header); a
   provider's URL check that reads nothing (Mailchimp's GET, ``hook_probe``) is answered 200 first;
   then verify with the provider's own webhook scheme (``Provider.webhook_scheme``, the same
   verifiers as the incoming webhooks: Stripe-Signature with its 5-minute window, PayPlus'
   ``hash``) keyed with the secrets the adapter names from the integration's credentials
   (``ProviderAdapter.hook_secrets``); a provider whose callbacks are unsigned (``none``:
   Cardcom) is authenticated by its adapter asking the provider again (step 3), never by
   the payload; a failed check is 401 and changes nothing;
3. ask the adapter what the call means (``ProviderAdapter.hook_changes``): ``None`` -- the
   provider keeps a change feed (Stripe): an incremental run of the integration is started
   through the engine (``sync_wake``: coalesced, a run already running is asked to run once
   more), and that run's upsert is idempotent, so an event delivered twice changes nothing;
   or ``(remote type, changes)`` -- the provider has no feed (PayPlus, Cardcom): the changes
   are applied now by the engine's own import of one page (``importer.apply_page``: links,
   echo hashes, merge), to records already linked (a callback never creates a payment
   here, nor deletes one), and recorded as an ``import`` log row.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from core.redis_client import is_down, mark_down, redis_client
from core.signatures import InboundRequest, get_header
from core.tenant_context import operator_scope, tenant_scope
from integrations.client import ProviderClient
from integrations.hook_secret import PARAM as SECRET_PARAM
from integrations.hook_secret import url_secret, url_secret_ok
from integrations.models import Integration, IntegrationLog
from integrations.providers.catalog import get_provider
from integrations.providers.registry import WEBHOOK_SCHEMES, adapter_for
from integrations.ratelimit import redis_url
from integrations.sync import owners
from integrations.sync.importer import Job, apply_page
from integrations.sync.payment_results import settle_changes
from integrations.sync.plan import plan_for
from integrations.sync.runs import RunReport, run_finish
from integrations.sync.services import sync_wake

log = logging.getLogger("architect_studio.sync.hooks")

HOOK_PATH = "/api/integrations/hooks/{id}"  # integrations.client.ProviderClient.hook_url builds the same


def hook_url(integration: Integration) -> str:
    """The URL the provider is given; with the URL secret for providers that sign nothing
    (``ProviderAdapter.hook_url_secret``, integrations.hook_secret)."""
    url = settings.PUBLIC_BASE_URL.rstrip("/") + HOOK_PATH.format(id=integration.pk)
    if adapter_for(get_provider(integration.provider)).hook_url_secret:
        url += f"?{SECRET_PARAM}={url_secret(integration.pk)}"
    return url


@dataclass(frozen=True)
class HookResult:
    status: int
    message: str = ""
    started: bool = False
    applied: int = 0
    #: A handshake's own answer (Meta hub.challenge): sent as it is.
    body: bytes | None = None
    content_type: str = ""
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)


def _find(integration_id: str) -> tuple[Any, Any] | None:
    try:
        pk = uuid.UUID(str(integration_id))
    except ValueError:
        return None
    with operator_scope("provider webhook: the tenant of the integration its URL names"):
        row = Integration.objects.filter(pk=pk).values_list("tenant_id", "provider").first()
    return row


def _throttled(integration_id: Any) -> bool:
    """Over ``INTEGRATION_HOOK_RATE_LIMIT`` calls in this second for this integration (a fixed
    one-second window in Redis, shared by every web process; fails open while Redis is down:
    the provider calls stay bounded by the providers' own token buckets)."""
    limit = int(settings.INTEGRATION_HOOK_RATE_LIMIT or 0)
    url = redis_url()
    if limit <= 0 or not url or is_down(url):
        return False
    key = f"hub:hook:rl:{integration_id}:{int(time.time())}"
    try:
        pipe = redis_client(url, timeout=0.5).pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 2)
        count, _ = pipe.execute()
    except Exception as exc:  # noqa: BLE001 - fail open, see the docstring
        if mark_down(url):
            log.warning("hook rate limit unavailable (%s); not limiting for now", type(exc).__name__)
        return False
    return int(count) > limit


def hook_receive(*, integration_id: str, method: str, url: str, headers: Mapping[str, str], body: bytes,
                 query: Mapping[str, str], payload: Any) -> HookResult:
    found = _find(integration_id)
    if found is None:
        return HookResult(404, "Unknown integration.")
    if _throttled(integration_id):
        return HookResult(429, "Too many calls for this integration; retry shortly.")
    tenant_id, provider_id = found
    with tenant_scope(tenant_id):
        integration = Integration.objects.filter(pk=integration_id, tenant_id=tenant_id,
                                                 status=Integration.Status.CONNECTED).first()
        if integration is None:
            return HookResult(404, "Unknown integration.")
        client = ProviderClient.for_integration(integration)
    provider = get_provider(provider_id)
    adapter = adapter_for(provider)
    unsigned = provider.webhook_scheme == "none"
    scheme = WEBHOOK_SCHEMES.get(provider.webhook_scheme or "")
    if not adapter.receives_hooks or (scheme is None and not unsigned):
        return HookResult(404, "Unknown integration.")  # a provider that pushes nothing to integrations
    if adapter.hook_probe(method, query):  # Mailchimp's GET when the webhook is saved: reads nothing
        return HookResult(200)
    if adapter.hook_url_secret:
        presented = query.get(SECRET_PARAM) or (
            get_header(headers, adapter.hook_secret_header) if adapter.hook_secret_header else None)
        if not url_secret_ok(integration.pk, presented):
            log.info("hook for integration %s refused: no valid URL secret", integration.pk)
            return HookResult(401, "Invalid secret.")
    if scheme is not None:
        secrets = adapter.hook_secrets(client.connection.values)
        request = InboundRequest(method=method, url=url, headers=dict(headers), body=body, query=dict(query))
        if scheme.handshake is not None:
            answer = scheme.handshake(request, secrets, adapter.hook_config(client.connection.values))
            if answer is not None:
                return HookResult(answer.status, body=answer.body, content_type=answer.content_type,
                                  headers=dict(answer.headers or {}))
        # A URL-secret provider is signed only when a signing secret is configured (monday.com's
        # app signing secret): then both must pass.
        verdict = scheme.verify(request, secrets, {}, time.time()) if secrets or not adapter.hook_url_secret \
            else None
        if verdict is not None and not verdict.ok:
            log.info("hook for integration %s refused: %s", integration.pk, verdict.reason)
            return HookResult(401, "Invalid signature.")
    events = adapter.hook_messages(payload, query, client.connection.values)
    if events is None and adapter.message_channel:
        events = []  # a messaging provider's call about nothing we keep: acknowledged, no sync woken
    if events is not None:  # statuses, inbound messages, opt-outs: the owner of message records applies them
        owner = owners.owner_of("message")
        return HookResult(200, applied=owner.receive(integration, events) if owner is not None else 0)
    try:
        meaning = adapter.hook_changes(client, payload=payload, query=query)
    except Exception as exc:  # noqa: BLE001 - the provider's re-query failed (adapter errors, network, refused)
        # A public endpoint answers every input; 502 tells the provider to call again later.
        log.warning("hook for integration %s: the provider's re-query failed (%s)", integration.pk,
                    type(exc).__name__)
        return HookResult(502, "The provider could not be asked about this call; try again later.")
    if meaning is None:
        started = sync_wake(integration_id=integration.pk, tenant_id=tenant_id)
        return HookResult(200, started=started)
    remote_type, changes = meaning
    return HookResult(200, applied=_apply(integration, remote_type, changes, client))


def _apply(integration: Integration, remote_type: str, changes: tuple, client: ProviderClient) -> int:
    """The changes of a provider without a feed, through the engine's import of one page:
    only records already linked are touched (the pair's ``creates_local`` is off for them)."""
    with tenant_scope(integration.tenant_id):
        plan = plan_for(integration)
        pair = next((p for p in plan.pairs if p.remote_type == remote_type), None)
        if pair is None or not changes:
            return 0
        if getattr(plan.adapter, "settles_payments", False) and pair.local_type == "payment":
            # partial payments, fees and notices (seed ג); recorded whatever autoUpdate says
            changes = settle_changes(integration, remote_type, changes)
        local = pair.local_type[:1].upper() + pair.local_type[1:]
        if (integration.settings or {}).get(f"autoUpdate{local}Status") is False:
            log.info("hook for integration %s: autoUpdate%sStatus is off; recorded only", integration.pk, local)
            return 0  # seed ג: the provider's result is not to change the record's status
        pair = dataclasses.replace(pair, creates_local=False)
        report = RunReport()
        job = Job(plan=plan, client=client, report=report)
        entry = IntegrationLog.objects.create(
            tenant_id=integration.tenant_id, integration=integration, action=IntegrationLog.Action.IMPORT,
            direction="incoming", status="success", summary={}, request_snapshot={"options": {"hook": True}})
        with transaction.atomic():
            apply_page(job, pair, pair.containers[0] if pair.containers else plan.home_container,
                       tuple(c for c in changes if not c.deleted))
        run_finish(entry=entry, report=report)
    return report.updated
