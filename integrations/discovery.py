"""Container discovery: right after a connection is saved, ask the provider which
containers (calendars today) the tenant can sync, and keep them in ``Integration.settings``
so the settings page can offer them (seed section ג: ``calendars[]``, ``primary`` enabled).

Generic over providers: any adapter whose ``list_containers`` is implemented takes part
(``NotImplementedError`` = the provider has no discovery yet); where the list is kept and
in what shape depends on the provider's category (``SETTINGS_BY_CATEGORY``), never on its id.

Discovery never fails the connect: the OAuth callback has already committed the
integration. A failure is logged and written as a failed IntegrationLog row; the tenant can
still pick calendars later (a reconnect or a sync discovers again). The call is bounded so
the browser waiting on the callback is not held: no retries, a short rate-limit wait and a
10-second deadline per attempt.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_noop as N_

from core.tenant_context import tenant_scope
from core.words import Words, words, words_of
from integrations.audit import log_action
from integrations.client import ProviderClient, ProviderError
from integrations.models import Integration, IntegrationLog
from integrations.provider_words import test_failure_words
from integrations.providers._calendar import MAX_CALENDARS, MAX_ID, MAX_NAME
from integrations.providers.adapter import Container
from integrations.providers.catalog import Provider, get_provider
from integrations.providers.registry import adapter_for

log = logging.getLogger("architect_studio.integrations")

#: (connect, whole attempt) seconds for the discovery call made during the OAuth callback.
DISCOVERY_TIMEOUT = (5.0, 10.0)
_HEX_COLOR = re.compile(r"^#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$")


def _calendar_entries(containers: list[Container], previous: Any) -> list[dict[str, Any]]:
    """The seed's ``calendars[]``: a calendar seen before keeps the tenant's ``syncEnabled``;
    a new one is enabled only if it is the primary calendar. Calendars the provider no
    longer lists are dropped (syncing them would fail). Within the settings' limits
    (``_calendar``): at most MAX_CALENDARS, keeping the primary and the enabled ones first."""
    known = {c.get("calendarId"): c for c in previous if isinstance(c, dict)} if isinstance(previous, list) else {}
    entries, seen = [], set()
    for container in containers:
        if not container.id or len(container.id) > MAX_ID or container.id in seen:
            continue
        seen.add(container.id)
        before = known.get(container.id)
        enabled = bool(before.get("syncEnabled")) if before else container.primary
        color = container.color if container.color and _HEX_COLOR.match(container.color) else ""
        entries.append({"calendarId": container.id, "calendarName": container.name[:MAX_NAME],
                        "color": color, "syncEnabled": enabled, "_first": container.primary or enabled})
    keep = sorted(range(len(entries)), key=lambda i: (not entries[i]["_first"], i))[:MAX_CALENDARS]
    return [{k: v for k, v in entries[i].items() if k != "_first"} for i in sorted(keep)]


def _organisation_entries(containers: list[Container], previous: Any) -> list[dict[str, Any]]:
    """An accounting connection's organisations (Xero tenants): id and name, as listed."""
    return [{"organisationId": c.id, "organisationName": c.name[:200]} for c in containers][:50]


#: A settings key's containers by name (msgids: a discovery's log row says them in its reader's language).
CONTAINER_NAMES = {"calendars": N_("calendars"), "organisations": N_("organisations")}
DISCOVERY = "discovery"  # their msgctxt: with the article a list's name takes in a sentence


def _failure_words(provider: Provider, exc: Exception) -> Words | str:
    """Why the listing failed, as words: the client's kind of failure (provider_words), an
    error that says itself, else its text (data)."""
    if isinstance(exc, ProviderError):
        return test_failure_words(provider, status=exc.status, kind=exc.kind, message=str(exc))
    return words_of(exc) or str(exc)


#: provider category -> (settings key, how the discovered containers are written there)
SETTINGS_BY_CATEGORY: dict[str, tuple[str, Callable[[list[Container], Any], list[dict[str, Any]]]]] = {
    "calendar": ("calendars", _calendar_entries),
    "accounting": ("organisations", _organisation_entries),
}


def integration_discover_containers(*, integration_id, tenant_id) -> list[dict[str, Any]] | None:
    """Discover and store the containers of one connected integration; returns what was
    stored, or None when the provider has no discovery or it failed (logged, never raised).
    Call with no transaction open: the provider call runs outside any."""
    with tenant_scope(tenant_id):
        integration = Integration.objects.filter(pk=integration_id, status=Integration.Status.CONNECTED).first()
    if integration is None:  # disconnected meanwhile
        return None
    provider = get_provider(integration.provider)
    target = SETTINGS_BY_CATEGORY.get(provider.category)
    if target is None:
        return None
    key, entries_for = target
    adapter = adapter_for(provider)
    started = timezone.now()
    try:
        client = ProviderClient.for_integration(integration, max_retries=0, max_wait=5.0, timeout=DISCOVERY_TIMEOUT)
        containers = adapter.list_containers(client)
    except NotImplementedError:
        return None
    except Exception as exc:  # noqa: BLE001 - any failure here must not fail the connect
        log.warning("Container discovery for integration %s (%s) failed: %s", integration_id, provider.id,
                    type(exc).__name__)
        with tenant_scope(tenant_id):
            log_action(integration=integration, action=IntegrationLog.Action.API_CALL,
                       status="failed", started_at=started, error_code="discovery_failed",
                       error_message=f"could not list the {key} to sync: {exc}"[:500],
                       error_words=words(N_("could not list the %(what)s to sync: %(error)s"),
                                         what=words(CONTAINER_NAMES.get(key, key), context=DISCOVERY), error=_failure_words(provider, exc)),
                       summary={"step": "container_discovery"})
        return None
    with tenant_scope(tenant_id):
        row = Integration.objects.select_for_update().filter(pk=integration_id).first()
        if row is None:
            return None
        stored = dict(row.settings or {})
        entries = entries_for(containers, stored.get(key))
        settings = {**adapter.settings_defaults(), **stored, key: entries}
        problems = adapter.settings_errors(settings)
        if problems:  # never store what a PATCH would refuse
            log.warning("Discovered %s of integration %s refused by the settings checks: %s",
                        key, integration_id, sorted(problems)[:5])
            log_action(integration=row, action=IntegrationLog.Action.API_CALL, status="failed", started_at=started,
                       error_code="discovery_failed", error_message=f"the discovered {key} do not fit the settings",
                       error_words=words(N_("the discovered %(what)s do not fit the settings"),
                                         what=words(CONTAINER_NAMES.get(key, key), context=DISCOVERY)),
                       summary={"step": "container_discovery"})
            return None
        row.settings = settings
        row.save(update_fields=["settings", "updated_at"])
        log_action(integration=row, action=IntegrationLog.Action.API_CALL, status="success", started_at=started,
                   summary={"step": "container_discovery", key: len(entries)})
    return entries
