"""Messages out, part 3 (issue 16 item 1): what the sync engine's export of a ``message``
record means for the record and its dispatch -- the owner of ``message`` exports
(integrations.sync.owners), registered in ``IntegrationsConfig.ready``. Called in the tenant's
scope, in the transaction that finishes the export queue row.

- sent: the record ``sent`` (or what the provider answered) with the provider's id in
  ``externalIds`` (the status callbacks find it by that), the dispatch ``sent``; with
  ``logOutgoingMessages: false`` the record is deleted instead (nothing kept);
- failed, final (a 4xx, or out of attempts): the record ``failed`` with the provider's error,
  the dispatch ``failed``;
- failed, retried: the record stays ``queued``; the dispatch mirrors the queue row
  (``attempts``, ``due_at`` = the next attempt, ``last_error``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.utils import timezone

from entities.models import Message
from entities.services import entity_delete, entity_update
from integrations.messaging.inbound import messages_receive
from integrations.models import ExternalLink, Integration, MessageDispatch
from integrations.providers.adapter import RemoteChange
from integrations.providers.catalog import get_provider
from integrations.providers.registry import adapter_for

SOURCE = "messaging"


class MessageExports:
    log_key = "message"

    def receive(self, integration: Integration, events: Any) -> int:
        return messages_receive(integration, events)

    def sent(self, *, integration: Integration, local_id: uuid.UUID, remote: RemoteChange) -> dict[str, Any] | None:
        message = Message.objects.filter(pk=local_id, tenant_id=integration.tenant_id).first()
        dispatch = MessageDispatch.objects.filter(message_id=local_id, tenant_id=integration.tenant_id).first()
        remote_id = str((remote.raw or {}).get("remoteId") or "")
        if dispatch is not None:
            MessageDispatch.objects.filter(pk=dispatch.pk).update(
                status=MessageDispatch.Status.SENT, attempts=dispatch.attempts + 1, last_error="",
                updated_at=timezone.now())
        if message is not None:
            if _settings(integration).get("logOutgoingMessages") is False:
                entity_delete(instance=message, source=SOURCE)
                ExternalLink.objects.filter(tenant_id=integration.tenant_id, integration=integration,
                                            local_type="message", local_id=local_id).delete()
                message = None
            else:
                ids = {**(message.external_ids or {}), **({integration.provider: remote_id} if remote_id else {})}
                entity_update(instance=message, tenant=integration.tenant, source=SOURCE,
                              data={"status": str((remote.raw or {}).get("status") or "sent"), "external_ids": ids})
        return _item(dispatch, message, local_id, remote_id=remote_id)

    def failed(self, *, integration: Integration, local_id: uuid.UUID, error: str, final: bool, attempts: int,
               retry_at: datetime | None) -> dict[str, Any]:
        dispatch = MessageDispatch.objects.filter(message_id=local_id, tenant_id=integration.tenant_id).first()
        if dispatch is not None:
            changes: dict[str, Any] = {"attempts": attempts, "last_error": error[:500], "updated_at": timezone.now()}
            if final:
                changes["status"] = MessageDispatch.Status.FAILED
            elif retry_at is not None:
                changes["due_at"] = retry_at
            MessageDispatch.objects.filter(pk=dispatch.pk).update(**changes)
        if final:
            message = Message.objects.filter(pk=local_id, tenant_id=integration.tenant_id).first()
            if message is not None:
                entity_update(instance=message, tenant=integration.tenant, source=SOURCE,
                              data={"status": "failed", "error": error[:500]})
        return {"messageId": str(local_id), **({"ruleId": dispatch.rule_id, "sourceType": dispatch.entity_type,
                                               "sourceId": str(dispatch.entity_id)} if dispatch else {})}


def _settings(integration: Integration) -> dict[str, Any]:
    return {**adapter_for(get_provider(integration.provider)).settings_defaults(), **(integration.settings or {})}


def _item(dispatch: MessageDispatch | None, message: Message | None, local_id: uuid.UUID, *,
          remote_id: str) -> dict[str, Any]:
    """The sent message's line in the run's log (the per-message log line's fields)."""
    return {
        "messageId": str(local_id), "remoteId": remote_id or None,
        "channel": message.channel if message is not None else None,
        "to": dispatch.recipient if dispatch else (message.to_address if message is not None else None),
        "template": ((message.content or {}).get("template") or None) if message is not None else None,
        "ruleId": dispatch.rule_id if dispatch else None,
        "entityType": dispatch.entity_type if dispatch else None,
        "entityId": str(dispatch.entity_id) if dispatch else None,
        "occurrence": dispatch.occurrence if dispatch else None,
    }
