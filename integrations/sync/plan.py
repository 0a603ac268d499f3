"""What an integration's settings ask the engine to sync: entity pairs, their direction,
mapping and filters, and the remote containers (calendars) to sync them with.

Read once per run (and per export batch) from ``Integration.sync_settings`` (the seed's
IntegrationSyncSettings) and ``Integration.settings`` (the seed's provider config, e.g.
``calendars[]`` with ``syncEnabled``; ``sync<Type>s: false`` leaves a pair out, and
``autoCreate<Type>s: false`` stops new records of one side creating records on the other).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from core.tenant_context import tenant_scope
from integrations.models import ExternalLink, Integration
from integrations.providers.adapter import ProviderAdapter
from integrations.providers.catalog import get_provider
from integrations.providers.registry import adapter_for
from integrations.sync.mapping import Filters, Mapping, MappingContext, compile_filters, compile_mappings

DEFAULT_TZ = "Asia/Jerusalem"
#: The container of a provider whose settings name none (Google's "primary" calendar).
DEFAULT_CONTAINER = "primary"
IMPORTS = ("import", "bidirectional")
EXPORTS = ("export", "bidirectional")


@dataclass(frozen=True)
class Pair:
    """One enabled local ↔ remote entity pair."""

    local_type: str
    remote_type: str
    direction: str
    mapping: Mapping
    filters: Filters
    #: The seed's autoCreateMeetings / autoCreateEvents (settings): whether a record new on one
    #: side creates one on the other; edits and deletions of linked records flow either way.
    creates_local: bool = True
    creates_remote: bool = True
    #: Where this pair's records live at the provider: the adapter's ``pair_containers`` (one
    #: collection per remote type: Stripe's payment intents and customers), else the enabled
    #: calendars / folders of the settings.
    containers: tuple[str, ...] = ()
    #: A standing export of the adapter (``standing_exports``): its queue rows are written by the
    #: record's owner (integrations.sync.owners), never by the entity-event subscriber or a
    #: scheduled run's sweep of unlinked records, and it is never listed.
    owner_queued: bool = False

    @property
    def home_container(self) -> str:
        """Where a local record of this pair without a link is created at the provider."""
        return self.containers[0]

    @property
    def imports(self) -> bool:
        return self.direction in IMPORTS

    @property
    def exports(self) -> bool:
        return self.direction in EXPORTS


@dataclass(frozen=True)
class SyncPlan:
    integration: Integration
    adapter: ProviderAdapter
    pairs: tuple[Pair, ...]
    containers: tuple[str, ...]
    tz: str
    enabled: bool
    frequency: str

    def importing(self) -> tuple[Pair, ...]:
        return tuple(p for p in self.pairs if p.imports)

    def exporting(self) -> tuple[Pair, ...]:
        return tuple(p for p in self.pairs if p.exports)

    def export_pair(self, local_type: str) -> Pair | None:
        return next((p for p in self.pairs if p.exports and p.local_type == local_type), None)

    @property
    def home_container(self) -> str:
        """Where a local record without a link is created at the provider."""
        return self.containers[0]

    def context(self) -> MappingContext:
        return MappingContext(tz=self.tz, on_date=None, notes=[], link_lookup=link_lookup(self.integration))


def link_lookup(integration: Integration):
    """The ``link`` transform's lookup: this integration's ExternalLink rows (in its tenant's
    scope), local id -> remote id (``want="remote"``) or back (``want="local"``)."""
    def lookup(entity: str, want: str, value: str) -> str | None:
        with tenant_scope(integration.tenant_id):  # the export maps records outside any transaction
            rows = ExternalLink.objects.filter(tenant_id=integration.tenant_id, integration=integration,
                                               local_type=entity)
            if want == "remote":
                try:
                    return rows.filter(local_id=value).values_list("remote_id", flat=True).first()
                except (ValueError, ValidationError):  # not a uuid: nothing of ours
                    return None
            found = rows.filter(remote_id=value).values_list("local_id", flat=True).first()
            return str(found) if found is not None else None

    return lookup


def enabled_containers(integration: Integration, adapter: ProviderAdapter | None = None) -> tuple[str, ...]:
    own = adapter.sync_containers(integration.settings or {}) if adapter is not None else None
    if own:
        return own
    calendars = (integration.settings or {}).get("calendars")
    if isinstance(calendars, list):
        chosen = tuple(str(c["calendarId"]) for c in calendars
                       if isinstance(c, dict) and c.get("calendarId") and c.get("syncEnabled"))
        if chosen:
            return chosen
    return (DEFAULT_CONTAINER,)


def setting_flag(prefix: str, entity_type: str) -> str:
    """The seed's provider-settings flag for an entity type: ("sync", "meeting") -> "syncMeetings",
    ("autoCreate", "event") -> "autoCreateEvents"."""
    return f"{prefix}{entity_type[:1].upper()}{entity_type[1:]}s"


def flag(adapter: ProviderAdapter, provider_settings: dict, name: str) -> bool:
    """An ``autoCreate<Type>s`` flag, read under the provider's own name for it when it has one
    (``adapter.setting_aliases``); absent means on."""
    return provider_settings.get(adapter.setting_aliases.get(name, name)) is not False


def plan_for(integration: Integration) -> SyncPlan:
    sync = integration.sync_settings or {}
    provider_settings = integration.settings or {}
    adapter = adapter_for(get_provider(integration.provider))
    default_direction = sync.get("direction") or "import"
    containers = enabled_containers(integration, adapter)
    pairs = []
    filters = compile_filters(sync.get("filters") or [])
    for item in sync.get("entities") or []:
        if not item.get("enabled", True):
            continue
        local_type, remote_type = item["localEntity"], item["remoteEntity"]
        if provider_settings.get(setting_flag("sync", local_type)) is False and not adapter.carries_files:
            continue  # e.g. syncTasks: false leaves the task pair out (storage: per document kind)
        mine = [m for m in sync.get("fieldMappings") or [] if m.get("localEntity", local_type) == local_type]
        mapping = compile_mappings(mine, local_type=local_type,
                                   defaults=adapter.default_mappings(local_type, remote_type))
        pairs.append(Pair(local_type, remote_type, item.get("direction") or default_direction, mapping, filters,
                          creates_local=adapter.creates_local(local_type, provider_settings),
                          creates_remote=flag(adapter, provider_settings, setting_flag("autoCreate", remote_type)),
                          containers=adapter.pair_containers(remote_type) or containers))
    standing = list(adapter.standing_exports)
    pairs = [p for p in pairs if p.local_type not in {local for local, _ in standing}]  # the owner's, not the settings'
    for local_type, remote_type in standing:
        # Exported as soon as its owner queues it, whatever syncSettings say (messaging's sends).
        pairs.append(Pair(local_type, remote_type, "export",
                          compile_mappings([], local_type=local_type,
                                           defaults=adapter.default_mappings(local_type, remote_type)),
                          compile_filters([]), containers=(DEFAULT_CONTAINER,), owner_queued=True))
    return SyncPlan(
        integration=integration, adapter=adapter, pairs=tuple(pairs), containers=containers,
        tz=str((integration.settings or {}).get("timeZone") or DEFAULT_TZ),
        enabled=bool(sync.get("enabled")) or bool(standing),
        frequency="realtime" if standing else str(sync.get("frequency") or "manual"),
    )
