"""Realtime import (issue 11 item 8): provider push channels, their notifications, renewals,
and the 5-minute poll of realtime integrations that have no push.

* ``push_reconcile`` -- make an integration's channels match its settings: one channel per
  enabled calendar while sync is on, ``frequency: realtime`` and some entity pair imports;
  none otherwise (called by a task after PATCH, by the maintenance beat, on disconnect).
* ``push_receive_google`` / ``push_receive_graph`` -- the public endpoints' flows: find the
  channel by the id in its URL, verify the provider's token in constant time, start an import
  run of that integration through the engine (coalesced, rate bounded).
* ``push_maintain`` -- beat: renew channels expiring within ``RENEW_WINDOW`` (Graph: PATCH the
  subscription; Google: a new channel, then the old one stopped), reconcile realtime
  integrations whose channels are missing or no longer wanted, start the runs that
  notifications asked for while a run was running.
* ``realtime_poll_due`` -- beat: realtime integrations without a live channel (CalDAV, or a
  push the provider refused) are synced every ``POLL_INTERVAL``.

Provider calls are made outside database transactions (Graph validates the notification URL
by calling the hub back while it creates a subscription).

Past ~400 lines on purpose: one concern (a channel's whole life, from watch to notification to
renewal to stop) reads top-down in one place; the HTTP edges live in integrations.push_views.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.tenant_context import operator_scope, tenant_scope
from integrations.client import ProviderClient
from integrations.models import Integration, IntegrationLog, PushChannel
from integrations.providers.adapter import ProviderAdapter
from integrations.providers.catalog import get_provider
from integrations.providers.registry import adapter_for
from integrations.selectors import POLL_INTERVAL, PUSH_SAFETY_INTERVAL, wants_realtime_import
from integrations.sync.hook_registration import hooks_reconcile, hooks_unregister_all
from integrations.sync.plan import enabled_containers
from integrations.sync.services import RunBusy, SyncNotConfigured, sync_request

log = logging.getLogger("architect_studio.sync.push")

CHANNEL_SETTING = "app.push_channel_id"
#: Channels expiring within this are renewed by the maintenance beat.
RENEW_WINDOW = timedelta(hours=24)
#: At most one run started by notifications per integration in this window; later
#: notifications within it ask for one more run (``rerun_requested``) instead.
MIN_TRIGGER_INTERVAL = timedelta(seconds=5)
#: After a provider refused a channel, the maintenance beat asks again this much later (not every minute).
RETRY_AFTER_FAILURE_SECONDS = 15 * 60
KIND_OF_PROVIDER = {"google_calendar": PushChannel.Kind.GOOGLE, "google_drive": PushChannel.Kind.GOOGLE,
                    "outlook_calendar": PushChannel.Kind.GRAPH, "onedrive": PushChannel.Kind.GRAPH}
DEFAULT_CONTAINER = "primary"

__all__ = ["PushResult", "push_maintain", "push_receive_google", "push_receive_graph", "push_reconcile",
           "push_stop_all", "realtime_poll_due", "wants_realtime_import"]


# --------------------------------------------------------------------------- what is wanted
def _containers(integration: Integration) -> list[str]:
    """The containers the engine syncs (enabled calendars, a storage root folder)."""
    adapter = adapter_for(get_provider(integration.provider))
    return list(enabled_containers(integration, adapter))


def _adapter(integration: Integration) -> ProviderAdapter | None:
    if integration.provider not in KIND_OF_PROVIDER:
        return None
    adapter = adapter_for(get_provider(integration.provider))
    return adapter if adapter.supports_push else None


def push_reachable() -> bool:
    """Google and Graph deliver only to https addresses: without an https PUBLIC_BASE_URL no
    channel is asked for (the 5-minute poll stands in). ``INTEGRATIONS_PUSH_ALLOW_HTTP``
    (default: DEBUG) lets local setups and tests use plain http."""
    return settings.PUBLIC_BASE_URL.startswith("https://") or settings.INTEGRATIONS_PUSH_ALLOW_HTTP


def wanted_containers(integration: Integration) -> list[str]:
    if _adapter(integration) is None or not wants_realtime_import(integration) or not push_reachable():
        return []
    return _containers(integration)


def _address(kind: str, row_id: uuid.UUID) -> str:
    return f"{settings.PUBLIC_BASE_URL}/api/integrations/push/{kind}/{row_id}"


# --------------------------------------------------------------------------- lifecycle
@dataclass
class PushResult:
    created: int = 0
    stopped: int = 0
    renewed: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "stopped": self.stopped, "renewed": self.renewed, "failed": self.failed}


def _load(integration_id: uuid.UUID | str, tenant_id: uuid.UUID | str) -> tuple[Integration | None, list[PushChannel]]:
    with tenant_scope(tenant_id):
        integration = Integration.objects.filter(pk=integration_id, tenant_id=tenant_id).first()
        channels = list(PushChannel.objects.filter(tenant_id=tenant_id, integration_id=integration_id)
                        .order_by("created_at"))
    return integration, channels


def _client(integration: Integration) -> ProviderClient:
    with tenant_scope(integration.tenant_id):
        return ProviderClient.for_integration(integration)


#: How long a channel row written before the provider answered is kept if nothing updates it.
PROVISIONAL = timedelta(minutes=10)


def _open(integration: Integration, adapter: ProviderAdapter, client: ProviderClient, container: str,
          result: PushResult) -> PushChannel | None:
    """A new registration for ``container``. The row (with its token) is committed *before* the
    provider is asked: Google sends its ``sync`` message as soon as the channel exists, possibly
    before events.watch has answered us, and that message must find the channel. A refused
    watch deletes the row again."""
    kind = KIND_OF_PROVIDER[integration.provider]
    row = PushChannel(tenant_id=integration.tenant_id, integration=integration, kind=kind, container=container,
                      expires_at=timezone.now() + PROVISIONAL)
    row.channel_id = str(row.id)
    token = secrets.token_urlsafe(32)
    row.set_secret("token_encrypted", token)
    with tenant_scope(integration.tenant_id):
        row.save(force_insert=True)
    try:
        watch = adapter.watch(client, container=container, address=_address(kind, row.id), token=token,
                              channel_id=str(row.id))
    except Exception as exc:  # noqa: BLE001 - logged; the 5-minute poll covers a calendar without push
        log.warning("push: %s watch of integration %s failed: %s", integration.provider, integration.pk, exc)
        with tenant_scope(integration.tenant_id):
            PushChannel.objects.filter(pk=row.pk, tenant_id=integration.tenant_id).delete()
        result.failed += 1
        return None
    row.channel_id, row.resource_id, row.expires_at = watch.channel_id, watch.resource_id, watch.expires_at
    with tenant_scope(integration.tenant_id):
        PushChannel.objects.filter(pk=row.pk, tenant_id=integration.tenant_id).update(
            channel_id=row.channel_id, resource_id=row.resource_id, expires_at=row.expires_at)
    result.created += 1
    return row


def _close(integration: Integration, adapter: ProviderAdapter | None, client: ProviderClient | None,
           channel: PushChannel, result: PushResult) -> None:
    """Stop at the provider (best effort: an unreachable provider lets the channel expire) and forget it."""
    if adapter is not None and client is not None:
        try:
            adapter.stop(client, channel_id=channel.channel_id, resource_id=channel.resource_id)
        except Exception as exc:  # noqa: BLE001 - the row goes either way; the provider drops it at expiry
            log.warning("push: stopping %s channel %s failed: %s", channel.kind, channel.pk, exc)
    with tenant_scope(channel.tenant_id):
        PushChannel.objects.filter(pk=channel.pk, tenant_id=channel.tenant_id).delete()
    result.stopped += 1


def push_reconcile(*, integration_id: uuid.UUID | str, tenant_id: uuid.UUID | str) -> PushResult:
    """One live channel per wanted calendar, none elsewhere. Safe to run twice."""
    result = PushResult()
    hooks_reconcile(integration_id=integration_id, tenant_id=tenant_id)  # Mailchimp, monday.com webhooks
    integration, channels = _load(integration_id, tenant_id)
    if integration is None:
        return result
    wanted = wanted_containers(integration)
    adapter = adapter_for(get_provider(integration.provider)) if channels or wanted else None
    if adapter is None:
        return result
    client = _client(integration)
    now = timezone.now()
    have = {c.container for c in channels if c.expires_at > now}
    for channel in channels:
        if channel.container not in wanted or channel.expires_at <= now:
            _close(integration, adapter if channel.expires_at > now else None, client, channel, result)
    for container in wanted:
        if container not in have:
            _open(integration, adapter, client, container, result)
    return result


def push_stop_all(*, integration: Integration) -> PushResult:
    """Disconnect: stop every channel while the integration's token still works."""
    result = PushResult()
    hooks_unregister_all(integration=integration)
    _, channels = _load(integration.pk, integration.tenant_id)
    if not channels:
        return result
    adapter = adapter_for(get_provider(integration.provider))
    try:
        client = _client(integration)
    except Exception as exc:  # noqa: BLE001 - without a client the channels just expire
        log.warning("push: no client to stop the channels of integration %s: %s", integration.pk, exc)
        adapter, client = None, None
    for channel in channels:
        _close(integration, adapter, client, channel, result)
    return result


def _renew(channel: PushChannel, result: PushResult) -> None:
    integration, _ = _load(channel.integration_id, channel.tenant_id)
    if integration is None:
        return
    adapter = adapter_for(get_provider(integration.provider))
    client = _client(integration)
    if not adapter.push_renews_in_place:  # Google: a new channel first, then the old one stopped
        if _open(integration, adapter, client, channel.container, result) is not None:
            result.created -= 1
            result.renewed += 1
            _close(integration, adapter, client, channel, result)
            result.stopped -= 1
        return
    try:
        watch = adapter.renew(client, channel_id=channel.channel_id, resource_id=channel.resource_id)
    except Exception as exc:  # noqa: BLE001 - e.g. 404: the subscription is gone; reopened below
        log.warning("push: renewing %s channel %s failed: %s", channel.kind, channel.pk, exc)
        result.failed += 1
        _close(integration, None, None, channel, result)
        if channel.container in wanted_containers(integration):
            _open(integration, adapter, client, channel.container, result)
        return
    with tenant_scope(channel.tenant_id):
        PushChannel.objects.filter(pk=channel.pk, tenant_id=channel.tenant_id).update(
            expires_at=watch.expires_at, renewed_at=timezone.now())
    result.renewed += 1


def _reconcile_into(integration: Integration, result: PushResult) -> None:
    r = push_reconcile(integration_id=integration.pk, tenant_id=integration.tenant_id)
    result.created, result.stopped, result.failed = (result.created + r.created, result.stopped + r.stopped,
                                                    result.failed + r.failed)


def _guarded(key: str, result: PushResult, step, subject) -> None:
    """One maintenance step; after it failed (the provider refused, the token is gone) the same
    step is retried only after RETRY_AFTER_FAILURE_SECONDS, and never stops the other steps."""
    if cache.get(key):
        return
    failed = result.failed
    try:
        step(subject, result)
    except Exception:  # noqa: BLE001 - one integration's failure never stops the others
        log.exception("push: maintenance step %s failed", key)
        result.failed += 1
    if result.failed > failed:
        cache.set(key, 1, RETRY_AFTER_FAILURE_SECONDS)


def push_maintain(*, now: datetime | None = None) -> dict[str, int]:
    """Beat: renewals, reconciliation, coalesced re-runs.

    Cross-tenant on purpose (operator scope): it reads ids, containers and expiry times;
    every provider call and write then runs in the channel's own tenant scope.
    """
    now = now or timezone.now()
    with operator_scope("sync push: renewals and reconciliation"):
        due = list(PushChannel.objects.filter(expires_at__gt=now, expires_at__lte=now + RENEW_WINDOW)
                   .only("pk", "tenant_id", "integration_id", "kind", "container", "channel_id", "resource_id",
                         "expires_at"))
        reruns = list(PushChannel.objects.filter(rerun_requested=True).values_list("pk", "tenant_id"))
        channels: dict[Any, set[str]] = {}
        for integration_id, container, expires_at in PushChannel.objects.values_list(
                "integration_id", "container", "expires_at"):
            channels.setdefault(integration_id, set()).add(container if expires_at > now else "")
        # Realtime calendars, and any integration that still has channels (to stop them).
        realtime = list(Integration.objects.filter(provider__in=list(KIND_OF_PROVIDER))
                        .filter(Q(sync_settings__frequency="realtime") | Q(pk__in=list(channels)))
                        .only("pk", "tenant_id", "provider", "status", "sync_settings", "settings"))
    result = PushResult()
    for channel in due:
        _guarded(f"sync-push:renew:{channel.pk}", result, _renew, channel)
    for integration in realtime:
        wanted, have = set(wanted_containers(integration)), channels.get(integration.pk, set())
        if wanted != have:
            _guarded(f"sync-push:reconcile:{integration.pk}", result, _reconcile_into, integration)
    started = 0
    for pk, tenant_id in reruns:
        try:
            started += _trigger(pk, tenant_id, rerun=True)
        except Exception:  # noqa: BLE001 - one tenant's failure never stops the others
            log.exception("push: re-run of channel %s failed", pk)
    return {**result.as_dict(), "rerun": started}


# --------------------------------------------------------------------------- notifications
def _find(kind: str, row_id: str) -> PushChannel | None:
    """The channel the URL names, read through the ``channel_holder`` policy (no tenant yet)."""
    try:
        pk = uuid.UUID(str(row_id))
    except ValueError:
        return None
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, %s, true)", [CHANNEL_SETTING, str(pk)])
        row = PushChannel.objects.filter(pk=pk, kind=kind).first()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, '', true)", [CHANNEL_SETTING])
    if row is None or row.expires_at <= timezone.now():
        return None
    return row


def _token_ok(channel: PushChannel, presented: Any) -> bool:
    expected = channel.get_secret("token_encrypted") or ""
    return isinstance(presented, str) and bool(expected) and hmac.compare_digest(presented.encode(), expected.encode())


@dataclass(frozen=True)
class Received:
    """What the endpoint answers: ``status`` and whether a run was asked for."""

    status: int
    triggered: bool = False


#: Calendar: exists / not_exists; Drive: add, remove, update, trash, untrash, change
#: (https://developers.google.com/workspace/drive/api/guides/push, "Understand notification message format").
GOOGLE_CHANGE_STATES = ("exists", "not_exists", "add", "remove", "update", "trash", "untrash", "change")


def push_receive_google(*, row_id: str, channel_id: str | None, token: str | None,
                        resource_state: str | None, resource_id: str | None) -> Received:
    """A Google notification (https://developers.google.com/calendar/api/guides/push, "Receiving
    notifications"): X-Goog-Channel-ID must be the channel, X-Goog-Channel-Token its token;
    ``sync`` is the handshake, ``exists`` / ``not_exists`` a change. 404 makes Google stop."""
    channel = _find(PushChannel.Kind.GOOGLE, row_id)
    if channel is None or channel_id != channel.channel_id:
        return Received(404)
    if not _token_ok(channel, token) or (resource_id and channel.resource_id and resource_id != channel.resource_id):
        log.warning("push: Google notification for channel %s with a wrong token or resource; ignored", channel.pk)
        return Received(403)
    if resource_state not in GOOGLE_CHANGE_STATES:
        return Received(200)  # "sync": the channel works; nothing changed yet
    return Received(200, triggered=_notified(channel))


def push_receive_graph(*, row_id: str, body: Any) -> Received:
    """A Graph change notification collection (change-notifications-delivery-webhooks): every
    item must carry the subscription's id and clientState, else nothing happens (202 all the
    same, so a forger learns nothing; logged)."""
    channel = _find(PushChannel.Kind.GRAPH, row_id)
    if channel is None:
        return Received(404)
    items = body.get("value") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        return Received(400)
    if not all(_token_ok(channel, i.get("clientState")) and i.get("subscriptionId") == channel.channel_id
               for i in items):
        log.warning("push: Graph notification for subscription row %s with a wrong clientState or "
                    "subscriptionId; ignored", channel.pk)
        return Received(202)
    return Received(202, triggered=_notified(channel))


def _notified(channel: PushChannel) -> bool:
    with tenant_scope(channel.tenant_id):
        PushChannel.objects.filter(pk=channel.pk, tenant_id=channel.tenant_id).update(last_notified_at=timezone.now())
    return _trigger(channel.pk, channel.tenant_id)


def _trigger(channel_pk: Any, tenant_id: Any, *, rerun: bool = False) -> bool:
    """Start an import run of the channel's integration, unless one started within
    ``MIN_TRIGGER_INTERVAL`` or one is running: then remember to run once more (the
    maintenance beat does). Returns whether a run was started."""
    now = timezone.now()
    with tenant_scope(tenant_id):
        channel = PushChannel.objects.filter(pk=channel_pk, tenant_id=tenant_id).select_related("integration").first()
        if channel is None or not wants_realtime_import(channel.integration):
            return False  # a channel left over from realtime (the next reconcile stops it)
        siblings = PushChannel.objects.filter(tenant_id=tenant_id, integration_id=channel.integration_id)
        recent = siblings.filter(last_triggered_at__gt=now - MIN_TRIGGER_INTERVAL).exists()
        running = IntegrationLog.objects.filter(tenant_id=tenant_id, integration_id=channel.integration_id,
                                                status="running").exists()
        if recent or running:
            siblings.filter(pk=channel.pk).update(rerun_requested=True)
            return False
        siblings.filter(pk=channel.pk).update(last_triggered_at=now, rerun_requested=False)
        if rerun:
            siblings.update(rerun_requested=False)
        try:
            sync_request(integration=channel.integration)
        except RunBusy:
            siblings.filter(pk=channel.pk).update(rerun_requested=True)
            return False
        except SyncNotConfigured as exc:
            log.info("push: notification for integration %s not synced: %s", channel.integration_id, exc)
            return False
    return True


# --------------------------------------------------------------------------- polling
def realtime_poll_due(*, now: datetime | None = None) -> int:
    """Beat: realtime integrations that import and have no live push channel (CalDAV, or a push the
    provider refused) get a run when their last one is ``POLL_INTERVAL`` old; those with push get
    one after ``PUSH_SAFETY_INTERVAL`` of silence (neither provider guarantees delivery, and Graph
    may drop a subscription before its expiry).

    Cross-tenant on purpose (operator scope): it reads ids and times; each run starts in its tenant's scope.
    """
    now = now or timezone.now()
    with operator_scope("sync push: realtime poll"):
        candidates = [i for i in Integration.objects.filter(status=Integration.Status.CONNECTED,
                                                            sync_settings__enabled=True,
                                                            sync_settings__frequency="realtime")
                      if wants_realtime_import(i)]
        pushed = set(PushChannel.objects.filter(expires_at__gt=now).values_list("integration_id", flat=True))
    started = 0
    for integration in candidates:
        last = integration.last_sync_at or integration.created_at
        if last and last > now - (PUSH_SAFETY_INTERVAL if integration.pk in pushed else POLL_INTERVAL):
            continue
        with tenant_scope(integration.tenant_id):
            fresh = Integration.objects.filter(pk=integration.pk, tenant_id=integration.tenant_id).first()
            try:
                if fresh is not None:
                    sync_request(integration=fresh)
                    started += 1
            except (RunBusy, SyncNotConfigured):
                continue
    return started
