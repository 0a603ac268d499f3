"""HTTP through the ASGI application the Procfile serves (Django's WSGI app behind a2wsgi)."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator

from architect_studio.asgi import application
from entities.models import Meeting
from tests.factories import make_persona

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_healthz_and_middleware_headers_through_asgi():
    response = await HttpCommunicator(application, "GET", "/healthz", headers=[(b"host", b"localhost")]).get_response()
    assert response["status"] == 200
    assert json.loads(response["body"])["status"] == "ok"
    headers = {k.decode().lower(): v.decode() for k, v in response["headers"]}
    assert headers["x-frame-options"] == "DENY"  # the middleware stack ran


async def test_post_with_body_and_token_through_asgi():
    persona = await sync_to_async(make_persona)("Asgi Studio", "asgi@example.com")
    body = json.dumps({"title": "פגישה", "startTime": "2026-12-01T10:00:00Z", "endTime": "2026-12-01T11:00:00Z"}).encode()
    communicator = HttpCommunicator(
        application, "POST", "/api/meetings", body=body,
        headers=[(b"host", b"localhost"), (b"content-type", b"application/json"),
                 (b"content-length", str(len(body)).encode()),
                 (b"authorization", f"Bearer {persona.token}".encode())],
    )
    response = await communicator.get_response(timeout=10)
    assert response["status"] == 201, response["body"][:300]
    created = json.loads(response["body"])
    assert created["title"] == "פגישה"

    @sync_to_async
    def stored() -> list[str]:
        from core.tenant_context import tenant_scope

        with tenant_scope(persona.tenant.id):
            return list(Meeting.objects.values_list("title", flat=True))

    assert await stored() == ["פגישה"]


async def test_a_body_without_content_length_is_sized_before_wsgi():
    """Chunked senders give no Content-Length; the body must still reach the view."""
    persona = await sync_to_async(make_persona)("Chunked Studio", "chunked@example.com")
    body = json.dumps({"title": "chunked", "startTime": "2026-12-01T10:00:00Z", "endTime": "2026-12-01T11:00:00Z"}).encode()
    communicator = HttpCommunicator(
        application, "POST", "/api/meetings", body=body,
        headers=[(b"host", b"localhost"), (b"content-type", b"application/json"), (b"transfer-encoding", b"chunked"),
                 (b"authorization", f"Bearer {persona.token}".encode())],
    )
    response = await communicator.get_response(timeout=10)
    assert response["status"] == 201, response["body"][:300]


async def test_an_unsized_body_over_the_limit_is_refused_without_reaching_django():
    from architect_studio import asgi

    sized = asgi.SizeUnsizedBodies(app=None, limit=10)  # the app is never called
    response = await HttpCommunicator(sized, "POST", "/api/meetings", body=b"x" * 11).get_response()
    assert response["status"] == 413
