"""`/ws/events` (contract C9): a token (`?token=`) or the session; the tenant's group only.

Two credentials, never mixed: a non-empty ``?token=`` is the only credential of its
socket (the session cookie is not looked at; architect_studio.asgi skips the origin
check only for these), otherwise the session is checked as Django checks it
(``django.contrib.auth.get_user``: backend, active user, session auth hash, so a
changed password or a logout ends it). A socket outlives its handshake, so the
credential and the membership are checked again every ``WS_AUTH_RECHECK_SECONDS``
and the socket is closed when either is gone (revoked token, removed member).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from importlib import import_module
from types import SimpleNamespace
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import transaction

from core.realtime import tenant_group

log = logging.getLogger("architect_studio.realtime")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


def query_token(scope) -> str | None:
    """The non-empty ``?token=`` of a socket, or None (one rule for asgi.py and here)."""
    query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
    raw = (query.get("token") or [""])[0].strip()
    return raw or None


@dataclass(frozen=True)
class Grant:
    """Who a socket was accepted for: re-checked while it stays open."""

    user_id: object
    tenant_id: str
    token_id: object | None = None
    session_key: str | None = None


def _session_user(session):
    """Django's own session check (backend, is_active, session auth hash)."""
    from django.contrib.auth import get_user

    user = get_user(SimpleNamespace(session=session))
    return user if user.is_authenticated else None


def _authenticate(scope) -> tuple[object | None, object | None]:
    """Returns (user, ApiToken | None) from `?token=`, or else from the session cookie."""
    from rest_framework.exceptions import AuthenticationFailed

    from tenancy.authentication import BearerTokenAuthentication

    raw = query_token(scope)
    if raw is not None:
        try:
            return BearerTokenAuthentication.authenticate_raw(raw)
        except AuthenticationFailed:
            return None, None  # never falls back to the session
    session = scope.get("session")
    if session is None or not session.session_key:
        return None, None
    return _session_user(session), None


def _membership(user, wanted: str | None, default_tenant_id=None):
    from tenancy.selectors import membership_choose

    return membership_choose(user=user, wanted=wanted, default_tenant_id=default_tenant_id)


@database_sync_to_async
def resolve(scope) -> tuple[Grant | None, int | None]:
    """(grant, close code) for this connection, checked against memberships."""
    from tenancy.selectors import TenantChoiceError

    with transaction.atomic():
        user, token = _authenticate(scope)
        if user is None:
            return None, CLOSE_UNAUTHENTICATED
        query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
        try:
            membership = _membership(user, (query.get("tenant") or [None])[0],
                                     token.default_tenant_id if token is not None else None)
        except TenantChoiceError:
            return None, CLOSE_FORBIDDEN
        session = scope.get("session") if token is None else None
        return Grant(user_id=user.pk, tenant_id=str(membership.tenant_id),
                     token_id=token.pk if token is not None else None,
                     session_key=session.session_key if session is not None else None), None


@database_sync_to_async
def recheck(grant: Grant) -> int | None:
    """None while the socket may stay open, else the close code."""
    from django.contrib.auth import get_user_model

    from tenancy.models import ApiToken
    from tenancy.selectors import TenantChoiceError

    with transaction.atomic():
        if grant.token_id is not None:
            token = ApiToken.objects.active().select_related("user").filter(pk=grant.token_id).first()
            user = token.user if token is not None and token.user.is_active else None
        else:
            store = import_module(settings.SESSION_ENGINE).SessionStore(grant.session_key)
            user = _session_user(store)
        if user is None or user.pk != grant.user_id:
            return CLOSE_UNAUTHENTICATED
        try:
            _membership(get_user_model().objects.get(pk=user.pk), grant.tenant_id)
        except TenantChoiceError:
            return CLOSE_FORBIDDEN
    return None


class EventsConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None
    _watch: asyncio.Task | None = None

    async def connect(self):
        grant, close_code = await resolve(self.scope)
        if grant is None:
            await self.close(code=close_code)
            return
        self.tenant_id = grant.tenant_id
        self.group = tenant_group(grant.tenant_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "connection.ready", "data": {"tenantId": grant.tenant_id}})
        self._watch = asyncio.create_task(self._watch_grant(grant, float(settings.WS_AUTH_RECHECK_SECONDS)))

    async def _watch_grant(self, grant: Grant, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                close_code = await recheck(grant)
            except Exception:  # a database hiccup is not a revocation: try again next round
                log.warning("WebSocket credential re-check failed", exc_info=True)
                continue
            if close_code is not None:
                log.info("closing a WebSocket of tenant %s: its credential or membership is gone", grant.tenant_id)
                await self.close(code=close_code)
                return

    async def disconnect(self, code):
        if self._watch is not None and self._watch is not asyncio.current_task():
            self._watch.cancel()
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # Clients only listen; a ping keeps proxies from closing idle sockets.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong", "data": {}})

    async def hub_event(self, event):
        await self.send_json(event["message"])
