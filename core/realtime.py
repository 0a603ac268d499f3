"""One helper to push an event to a tenant's browsers over /ws/events.

``publish(tenant_id, type, data)`` works from web and worker processes alike
(channels-redis; the in-memory layer in embedded mode) and sends after the
current transaction commits, so a browser never hears of a row it can't read yet.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

log = logging.getLogger("architect_studio.realtime")


def tenant_group(tenant_id: uuid.UUID | str) -> str:
    return f"tenant.{uuid.UUID(str(tenant_id)).hex}"


def build_message(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    # Round-trip through JSON so dates/UUIDs/Decimals become plain JSON values.
    plain = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return {"type": event_type, "data": plain, "timestamp": timezone.now().isoformat()}


def _send(tenant_id: uuid.UUID | str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(tenant_group(tenant_id), {"type": "hub.event", "message": message})
    except Exception:  # realtime is best effort; the rows are the truth
        log.warning("could not publish %s to tenant %s", message.get("type"), tenant_id, exc_info=True)


def publish(tenant_id: uuid.UUID | str, event_type: str, data: dict[str, Any]) -> None:
    message = build_message(event_type, data)
    transaction.on_commit(lambda: _send(tenant_id, message))
