"""Sync state and links: where an import stands, and which remote record is which local one.

Services and selectors over ``SyncState`` and ``ExternalLink``, called by the sync engine
inside the caller's tenant scope. The rule this module enforces: a cursor and the links of
a page are written in the same transaction as the page's records, so a page that fails
leaves neither behind and the next run reads it again (never a skipped change, never a
link to a record that was rolled back).
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, router, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import ExternalLink, Integration, SyncState


class SyncStateError(RuntimeError):
    pass


class OutsideTransaction(SyncStateError):
    """A cursor or link written outside the transaction of its page."""


class CursorMoved(SyncStateError):
    """The stored cursor is no longer the one this page was read from (another run advanced it)."""


class LinkConflict(SyncStateError):
    """The local record and the remote record are each already linked to something else."""


def _require_transaction(model: type, what: str) -> None:
    if not transaction.get_connection(router.db_for_write(model)).in_atomic_block:
        raise OutsideTransaction(f"{what} must run inside the transaction that commits its page")


def content_hash(values: Mapping[str, Any]) -> str:
    """sha256 of the values as sorted-key compact JSON: equal for equal values whatever
    the key order (dates, decimals and uuids as Django's JSON encoder writes them)."""
    payload = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)
    return hashlib.sha256(payload.encode()).hexdigest()


# --------------------------------------------------------------------------- sync state
def sync_state_get_or_create(
    *, integration: Integration, local_type: str, remote_type: str, remote_container: str = ""
) -> SyncState:
    state, _ = SyncState.objects.get_or_create(
        tenant_id=integration.tenant_id, integration=integration, local_type=local_type, remote_type=remote_type,
        remote_container=remote_container,
    )
    return state


def sync_state_advance(*, state: SyncState, cursor: str | None, full: bool = False) -> SyncState:
    """Store the cursor a page ended with; ``full`` marks the end of a full sync.

    Must run inside the transaction that commits the page (raises ``OutsideTransaction``
    otherwise), so it rolls back with the page. Compare-and-set on the cursor the page was
    read from: if another run moved it meanwhile, ``CursorMoved`` (the caller's transaction
    should roll back). Returns a new instance; ``state`` keeps the old values, which stay
    right if the transaction rolls back.
    """
    _require_transaction(SyncState, "sync_state_advance")
    now = timezone.now()
    changes: dict[str, Any] = {"cursor": cursor, "last_run_at": now, "updated_at": now}
    if full:
        changes["last_full_sync_at"] = now
    moved = SyncState.objects.filter(pk=state.pk, tenant_id=state.tenant_id, cursor=state.cursor).update(**changes)
    if moved != 1:
        raise CursorMoved(f"sync state {state.pk}: the cursor changed since this page was read")
    advanced = copy.copy(state)
    for name, value in changes.items():
        setattr(advanced, name, value)
    return advanced


# --------------------------------------------------------------------------- links
def link_for_remote(*, integration: Integration, remote_type: str, remote_id: str) -> ExternalLink | None:
    return ExternalLink.objects.filter(tenant_id=integration.tenant_id, integration=integration,
                                       remote_type=remote_type, remote_id=remote_id).first()


def link_for_local(*, integration: Integration, local_type: str, local_id: uuid.UUID) -> ExternalLink | None:
    return ExternalLink.objects.filter(tenant_id=integration.tenant_id, integration=integration,
                                       local_type=local_type, local_id=local_id).first()


def links_by_remote_id(*, integration: Integration, remote_type: str, remote_ids: Iterable[str]) -> dict[str, ExternalLink]:
    """One query for a whole page of remote changes (an import's work stays O(page))."""
    links = ExternalLink.objects.filter(tenant_id=integration.tenant_id, integration=integration,
                                        remote_type=remote_type, remote_id__in=list(remote_ids))
    return {link.remote_id: link for link in links}


def link_upsert(
    *,
    integration: Integration,
    local_type: str,
    local_id: uuid.UUID,
    remote_type: str,
    remote_id: str,
    remote_container: str = "",
    remote_version: str | None = None,
    local_hash: str = "",
    remote_hash: str = "",
    last_synced: Mapping[str, Any] | None = None,
) -> ExternalLink:
    """Create or update the link between a local and a remote record.

    Found by either side: a link of this remote record or of this local record is updated
    (a remote object recreated under a new id keeps its local record's link). If the two
    records are each linked to something else, ``LinkConflict``: which link wins is the
    caller's decision, not a silent overwrite.
    """
    _require_transaction(ExternalLink, "link_upsert")
    values = {
        "remote_container": remote_container, "remote_version": remote_version, "local_hash": local_hash,
        "remote_hash": remote_hash, "last_synced": dict(last_synced or {}),
        "local_type": local_type, "local_id": local_id, "remote_type": remote_type, "remote_id": remote_id,
    }
    for attempt in range(2):
        found = list(
            ExternalLink.objects.select_for_update()
            .filter(tenant_id=integration.tenant_id, integration=integration)
            .filter(Q(remote_type=remote_type, remote_id=remote_id) | Q(local_type=local_type, local_id=local_id))
        )
        if len(found) > 1:
            raise LinkConflict(f"{local_type}:{local_id} and {remote_type}:{remote_id} are linked to other records")
        if found:
            link = found[0]
            for name, value in values.items():
                setattr(link, name, value)
            link.save()
            return link
        try:
            with transaction.atomic(using=router.db_for_write(ExternalLink)):  # a savepoint: a lost race is retried
                return ExternalLink.objects.create(tenant_id=integration.tenant_id, integration=integration, **values)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def link_delete(*, link: ExternalLink) -> None:
    _require_transaction(ExternalLink, "link_delete")
    ExternalLink.objects.filter(pk=link.pk, tenant_id=link.tenant_id).delete()
