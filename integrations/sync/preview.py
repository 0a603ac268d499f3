"""``POST /api/integrations/{id}/mappings/preview``: what a sample record becomes both ways.

Read-only (members may call it): the mapping is compiled exactly as a run compiles it --
the given ``fieldMappings``, else the integration's own for that entity, else the adapter's
default mapping -- and applied to the sample local and/or remote record. Currency rates
come from the CurrencyRate table as in a run; the rates used are listed in ``notes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from integrations.models import Integration
from integrations.providers.catalog import get_provider
from integrations.providers.registry import adapter_for
from integrations.sync.mapping import (
    DEFAULT_TZ,
    MappingConfigError,
    MappingContext,
    MappingError,
    compile_mappings,
)


class PreviewError(ValueError):
    """Bad preview input (a 400 naming ``field``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Preview:
    to_remote: dict[str, Any] | None
    to_local: dict[str, Any] | None
    notes: list[dict[str, Any]]
    mappings_source: str  # "request", "integration" or "default"


def mapping_preview(
    *, integration: Integration, local_entity: str, remote_entity: str,
    local: dict[str, Any] | None, remote: dict[str, Any] | None, field_mappings: list[dict[str, Any]] | None,
) -> Preview:
    provider = get_provider(integration.provider)
    if not any(p.local == local_entity and p.remote == remote_entity for p in provider.entity_pairs):
        supported = ", ".join(f"{p.local}->{p.remote}" for p in provider.entity_pairs) or pgettext(
            "no entity pairs", "none")
        name = provider.display_name
        raise PreviewError("remoteEntity", _("%(provider)s cannot sync %(local)s with %(remote)s (supported: %(supported)s)")
                           % {"provider": name, "local": repr(local_entity), "remote": repr(remote_entity),
                              "supported": supported})
    defaults = adapter_for(provider).default_mappings(local_entity, remote_entity)
    own = [m for m in (integration.sync_settings or {}).get("fieldMappings", []) if m.get("localEntity") == local_entity]
    if field_mappings is not None:
        raw, source = [m for m in field_mappings if m.get("localEntity") == local_entity], "request"
    elif own:
        raw, source = own, "integration"
    else:
        raw, source = [], "default"
    try:
        mapping = compile_mappings(raw, local_type=local_entity, defaults=defaults if source == "default" else [])
    except MappingConfigError as exc:
        raise PreviewError("fieldMappings", str(exc)) from None
    ctx = MappingContext(tz=(integration.settings or {}).get("timeZone") or DEFAULT_TZ)
    to_remote = to_local = None
    try:
        if local is not None:
            to_remote = mapping.to_remote(local, ctx)
    except MappingError as exc:
        raise PreviewError("local", str(exc)) from None
    try:
        if remote is not None:
            to_local = mapping.to_local(remote, ctx)
    except MappingError as exc:
        raise PreviewError("remote", str(exc)) from None
    return Preview(to_remote, to_local, ctx.notes, source)
