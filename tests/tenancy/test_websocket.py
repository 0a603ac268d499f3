"""Contract C9: /ws/events with a token or session; events only reach their tenant."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from architect_studio.asgi import application
from core.realtime import publish
from tests.support.factories import make_persona

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _connect(path: str) -> tuple[WebsocketCommunicator, bool, object]:
    comm = WebsocketCommunicator(application, path, headers=[(b"host", b"localhost"), (b"origin", b"http://localhost")])
    connected, subprotocol_or_code = await comm.connect(timeout=5)
    return comm, connected, subprotocol_or_code


@sync_to_async
def _personas():
    return make_persona("Alice Studio", "alice@example.com"), make_persona("Bob Studio", "bob@example.com")


@sync_to_async
def _publish(tenant_id, event_type, data):
    from django.db import transaction

    with transaction.atomic():
        publish(tenant_id, event_type, data)


async def test_events_reach_only_their_tenant():
    alice, bob = await _personas()
    alice_ws, ok_a, _ = await _connect(f"/ws/events?token={alice.token}")
    bob_ws, ok_b, _ = await _connect(f"/ws/events?token={bob.token}")
    assert ok_a and ok_b
    assert (await alice_ws.receive_json_from(timeout=5))["type"] == "connection.ready"
    assert (await bob_ws.receive_json_from(timeout=5))["data"] == {"tenantId": str(bob.tenant.id)}

    await _publish(alice.tenant.id, "webhook.sent", {"webhookId": "w1", "webhookName": "n", "status": "success"})
    message = await alice_ws.receive_json_from(timeout=5)
    assert message["type"] == "webhook.sent"
    assert message["data"] == {"webhookId": "w1", "webhookName": "n", "status": "success"}
    assert "timestamp" in message
    assert await bob_ws.receive_nothing(timeout=0.5)
    await alice_ws.disconnect()
    await bob_ws.disconnect()


async def test_bad_or_missing_token_is_rejected():
    for path in ("/ws/events", "/ws/events?token=ash_nope", "/ws/events?token="):
        comm, connected, code = await _connect(path)
        assert not connected
        assert code == 4401
        await comm.disconnect()


async def test_tenant_param_of_foreign_tenant_is_rejected():
    alice, bob = await _personas()
    comm, connected, code = await _connect(f"/ws/events?token={alice.token}&tenant={bob.tenant.id}")
    assert (connected, code) == (False, 4403)
    await comm.disconnect()


@sync_to_async
def _alice_session():
    """Alice, and the session cookie value of a browser she signed in with."""
    alice = make_persona("Alice Studio", "alice@example.com")
    browser = Client()
    browser.force_login(alice.user)
    return alice, browser.cookies[django_settings.SESSION_COOKIE_NAME].value


def _cookie(session: str) -> tuple[bytes, bytes]:
    return b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={session}".encode()


async def test_token_sockets_need_no_origin_but_cookie_sockets_do():
    alice, session = await _alice_session()
    # a token socket from no origin at all
    comm = WebsocketCommunicator(application, f"/ws/events?token={alice.token}", headers=[(b"host", b"localhost")])
    connected, _ = await comm.connect(timeout=5)
    assert connected
    assert (await comm.receive_json_from(timeout=5))["data"] == {"tenantId": str(alice.tenant.id)}
    await comm.disconnect()
    # a valid session cookie from another origin, or from none: refused by the origin check
    for origin in ([(b"origin", b"https://evil.example")], []):
        comm = WebsocketCommunicator(application, "/ws/events", headers=[(b"host", b"localhost"), _cookie(session), *origin])
        connected, _ = await comm.connect(timeout=5)
        assert not connected, origin
        await comm.disconnect()
    # the same cookie from the hub's own origin opens alice's socket: the refusals above were the origin's
    comm = WebsocketCommunicator(application, "/ws/events",
                                 headers=[(b"host", b"localhost"), (b"origin", b"http://localhost"), _cookie(session)])
    connected, _ = await comm.connect(timeout=5)
    assert connected
    assert (await comm.receive_json_from(timeout=5))["data"] == {"tenantId": str(alice.tenant.id)}
    await comm.disconnect()
