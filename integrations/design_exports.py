"""Design exports on request (issue 16 item 4): ``POST /api/integrations/{id}/exports``
``{"designId", "format"}`` starts the provider's export job (Canva export jobs), ``GET
/api/integrations/{id}/exports/{jobId}`` reads its state once (the caller polls). The hub keeps
no row: the job lives at the provider and the download URLs it returns expire there.

Only formats the adapter lists (``export_formats``) are asked for; the design is addressed with
the integration's own credentials, so a tenant reaches only its own account's designs.
"""

from __future__ import annotations

import re

from core.tenant_context import tenant_scope
from integrations.client import ProviderClient
from integrations.models import Integration
from integrations.providers.adapter import ExportJob
from integrations.providers.catalog import get_provider
from integrations.providers.registry import adapter_for

ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


class ExportFailed(Exception):
    """The provider did not do it (its answer, an expired token, a network failure): a 502."""


class ExportRefused(ValueError):
    """Bad export input (a 400 naming ``field``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _client(integration: Integration) -> tuple[ProviderClient, tuple[str, ...]]:
    adapter = adapter_for(get_provider(integration.provider))
    if not adapter.export_formats:
        raise ExportRefused("provider", f"{get_provider(integration.provider).name_en} offers no design exports")
    if integration.status != Integration.Status.CONNECTED:
        raise ExportRefused("integration", f"the integration is {integration.status}; reconnect it first")
    with tenant_scope(integration.tenant_id):
        return ProviderClient.for_integration(integration), adapter.export_formats


def design_export_start(*, integration: Integration, design_id: object, fmt: object) -> ExportJob:
    client, formats = _client(integration)
    if not isinstance(design_id, str) or not ID.match(design_id):
        raise ExportRefused("designId", "must be the provider's design id (letters, digits, '-', '_')")
    if fmt not in formats:
        raise ExportRefused("format", f"must be one of {', '.join(formats)}")
    try:
        return client.adapter.export_start(client, remote_id=design_id, fmt=str(fmt))
    except Exception as exc:  # noqa: BLE001 - a provider failure of any kind is the caller's 502
        raise ExportFailed(str(exc)[:300]) from None


def design_export_status(*, integration: Integration, job_id: str) -> ExportJob:
    client, _ = _client(integration)
    if not ID.match(job_id):
        raise ExportRefused("jobId", "not an export job id")
    try:
        return client.adapter.export_status(client, job_id=job_id)
    except Exception as exc:  # noqa: BLE001 - a provider failure of any kind is the caller's 502
        raise ExportFailed(str(exc)[:300]) from None
