"""`/ws/events` (contract C9): a token (`?token=`) or the session; the tenant's group only."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db import transaction

from core.realtime import tenant_group

log = logging.getLogger("architect_studio.realtime")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


def _authenticate(scope) -> tuple[object | None, object | None]:
    """Returns (user, ApiToken | None) from `?token=` or the session cookie."""
    from django.contrib.auth import SESSION_KEY, get_user_model
    from rest_framework.exceptions import AuthenticationFailed

    from tenancy.authentication import BearerTokenAuthentication

    query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
    raw = (query.get("token") or [None])[0]
    if raw:
        try:
            return BearerTokenAuthentication.authenticate_raw(raw)
        except AuthenticationFailed:
            return None, None
    session = scope.get("session")
    user_id = session.get(SESSION_KEY) if session is not None else None
    if user_id:
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        return user, None
    return None, None


@database_sync_to_async
def resolve(scope) -> tuple[str | None, int | None]:
    """(tenant id, close code) for this connection, checked against memberships."""
    from tenancy.selectors import TenantChoiceError, membership_choose

    with transaction.atomic():
        user, token = _authenticate(scope)
        if user is None:
            return None, CLOSE_UNAUTHENTICATED
        query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
        try:
            membership = membership_choose(
                user=user,
                wanted=(query.get("tenant") or [None])[0],
                default_tenant_id=token.default_tenant_id if token is not None else None,
            )
        except TenantChoiceError:
            return None, CLOSE_FORBIDDEN
        return str(membership.tenant_id), None


class EventsConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self):
        tenant_id, close_code = await resolve(self.scope)
        if tenant_id is None:
            await self.close(code=close_code)
            return
        self.tenant_id = tenant_id
        self.group = tenant_group(tenant_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "connection.ready", "data": {"tenantId": tenant_id}})

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # Clients only listen; a ping keeps proxies from closing idle sockets.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong", "data": {}})

    async def hub_event(self, event):
        await self.send_json(event["message"])
