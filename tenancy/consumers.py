"""`/ws/events` (contract C9): a ticket (`?ticket=`), a token (`?token=`) or the session;
the tenant's group only.

Credentials are never mixed: a non-empty ``?ticket=`` (one-time, 30 s, from ``POST
/api/ws-ticket``) or ``?token=`` is the only credential of its socket (the session
cookie is not looked at; architect_studio.asgi skips the origin check only for
these), otherwise the session is checked as Django checks it
(``django.contrib.auth.get_user``: backend, active user, session auth hash, so a
changed password or a logout ends it). A socket outlives its handshake, so the
credential and the membership are checked again every ``WS_AUTH_RECHECK_SECONDS``
and the socket is closed when either is gone (revoked token, removed member).

It lives in ``tenancy`` (not ``core``): every check it makes is a tenancy
question (tickets, tokens, memberships), and ``core`` sits below ``tenancy``
(the import contract in pyproject.toml); it publishes nothing itself and only
joins the group that :mod:`core.realtime` names.
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


def _query(scope, name: str) -> str | None:
    query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
    raw = (query.get(name) or [""])[0].strip()
    return raw or None


def query_token(scope) -> str | None:
    """The non-empty ``?token=`` of a socket, or None."""
    return _query(scope, "token")


def query_credential(scope) -> str | None:
    """A non-empty ``?ticket=`` or ``?token=``: a socket carrying its own credential
    (one rule for the origin check in asgi.py and for the consumer)."""
    return _query(scope, "ticket") or _query(scope, "token")


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


def _from_ticket(raw: str) -> tuple[object | None, object | None, str | None, str | None]:
    """(user, ApiToken | None, session key | None, tenant id) of a one-time ticket,
    provided the credential it was issued against is still good."""
    from tenancy.models import ApiToken
    from tenancy.ws_tickets import ws_ticket_redeem

    ticket = ws_ticket_redeem(raw)
    if ticket is None:
        return None, None, None, None
    if ticket.api_token_id is not None:
        token = ApiToken.objects.active().select_related("user").filter(pk=ticket.api_token_id).first()
        if token is None or not token.user.is_active:
            return None, None, None, None
        return token.user, token, None, str(ticket.tenant_id)
    store = import_module(settings.SESSION_ENGINE).SessionStore(ticket.session_key)
    user = _session_user(store)
    if user is None or user.pk != ticket.user_id:
        return None, None, None, None
    return user, None, ticket.session_key, str(ticket.tenant_id)


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
        ticket = _query(scope, "ticket")
        if ticket is not None:  # issued for one tenant, against a token or a session
            user, token, session_key, wanted = _from_ticket(ticket)
        else:
            user, token = _authenticate(scope)
            session = scope.get("session") if token is None else None
            session_key = session.session_key if session is not None else None
            wanted = _query(scope, "tenant")
        if user is None:
            return None, CLOSE_UNAUTHENTICATED
        try:
            membership = _membership(user, wanted, token.default_tenant_id if token is not None else None)
        except TenantChoiceError:
            return None, CLOSE_FORBIDDEN
        return Grant(user_id=user.pk, tenant_id=str(membership.tenant_id),
                     token_id=token.pk if token is not None else None, session_key=session_key), None


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
