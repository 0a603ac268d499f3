"""One-time WebSocket tickets: ``POST /api/ws-ticket`` issues one, ``/ws/events?ticket=``
redeems it (once, within 30 seconds). A browser or an SPA then never puts its API
token in a socket URL, which servers and proxies print in their connection lines."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from tenancy.models import ApiToken, Tenant, User, WsTicket, hash_token

TICKET_TTL = timedelta(seconds=30)
TICKET_PREFIX = "wst_"
HASH_SETTING = "app.ws_ticket_hash"


def ws_ticket_issue(*, user: User, tenant: Tenant, api_token: ApiToken | None, session_key: str | None) -> str:
    """Within the caller's tenant-scoped request transaction; returns the raw ticket."""
    now = timezone.now()
    WsTicket.objects.filter(user=user, expires_at__lt=now).delete()  # the caller's own stale ones
    raw = TICKET_PREFIX + secrets.token_urlsafe(32)
    WsTicket.objects.create(tenant=tenant, user=user, api_token=api_token, session_key=session_key,
                            ticket_hash=hash_token(raw), expires_at=now + TICKET_TTL)
    return raw


def ws_ticket_redeem(raw: str) -> WsTicket | None:
    """Consume the ticket (single use, even when it turns out to be expired); the row
    when it was valid. The narrow ``ticket_holder`` policies let this tenant-less
    transaction see and delete only the row whose hash it presents."""
    if not raw or len(raw) > 200:
        return None
    digest = hash_token(raw)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, %s, true)", [HASH_SETTING, digest])
        ticket = WsTicket.objects.filter(ticket_hash=digest).first()
        if ticket is None:
            return None
        deleted, _ = WsTicket.objects.filter(pk=ticket.pk).delete()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, '', true)", [HASH_SETTING])
    if not deleted or ticket.expires_at <= timezone.now():
        return None
    return ticket
