"""HTTP through the ASGI application the Procfile serves (Django's WSGI app behind architect_studio.wsgi_bridge)."""

from __future__ import annotations

import json
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator

from architect_studio.asgi import application
from architect_studio.wsgi_bridge import WsgiBridge
from entities.models import Meeting
from tests.support.factories import make_persona

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@sync_to_async
def _sync(fn, *args):
    """Run ``fn`` on asgiref's sync thread and close that thread's connections
    afterwards, so none is left open when the test database is dropped."""
    from django.db import connections

    try:
        return fn(*args)
    finally:
        connections.close_all()


async def test_healthz_and_middleware_headers_through_asgi():
    response = await HttpCommunicator(application, "GET", "/healthz", headers=[(b"host", b"localhost")]).get_response(timeout=10)
    assert response["status"] == 200
    assert json.loads(response["body"])["status"] == "ok"
    headers = {k.decode().lower(): v.decode() for k, v in response["headers"]}
    assert headers["x-frame-options"] == "DENY"  # the middleware stack ran


async def test_post_with_body_and_token_through_asgi():
    persona = await _sync(make_persona, "Asgi Studio", "asgi@example.com")
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

    def stored() -> list[str]:
        from core.tenant_context import tenant_scope

        with tenant_scope(persona.tenant.id):
            return list(Meeting.objects.values_list("title", flat=True))

    assert await _sync(stored) == ["פגישה"]


async def test_a_body_without_content_length_is_sized_before_wsgi():
    """Chunked senders give no Content-Length; the body must still reach the view."""
    persona = await _sync(make_persona, "Chunked Studio", "chunked@example.com")
    body = json.dumps({"title": "chunked", "startTime": "2026-12-01T10:00:00Z", "endTime": "2026-12-01T11:00:00Z"}).encode()
    communicator = HttpCommunicator(
        application, "POST", "/api/meetings", body=body,
        headers=[(b"host", b"localhost"), (b"content-type", b"application/json"), (b"transfer-encoding", b"chunked"),
                 (b"authorization", f"Bearer {persona.token}".encode())],
    )
    response = await communicator.get_response(timeout=10)
    assert response["status"] == 201, response["body"][:300]


async def test_an_unsized_body_over_the_limit_is_refused_without_reaching_django():
    def never_called(environ, start_response):
        raise AssertionError("the application must not run")

    bridge = WsgiBridge(never_called, workers=1, body_limit=10)
    response = await HttpCommunicator(bridge, "POST", "/api/meetings", body=b"x" * 11).get_response(timeout=10)
    assert response["status"] == 413
    assert json.loads(response["body"])["error"]["code"] == "payload_too_large"


def _echo(environ, start_response):
    """A WSGI app answering with what it was given."""
    data = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    seen = {k: v for k, v in environ.items() if isinstance(v, str)}
    body = json.dumps({"body": data.decode("latin-1"), "environ": seen}).encode()
    start_response("201 Created", [("Content-Type", "application/json"), ("X-Echo", "1")])
    return [body]


async def test_bridge_builds_the_wsgi_environ():
    bridge = WsgiBridge(_echo, workers=2, body_limit=1000)
    response = await HttpCommunicator(
        bridge, "POST", "/api/%D7%A4?q=1&x=%20", body=b'{"a": 1}',
        headers=[(b"host", b"hub.example"), (b"content-type", b"application/json"), (b"x-one", b"a"),
                 (b"x-one", b"b"), (b"x-tenant_id", b"smuggled"), (b"content-length", b"8")],
    ).get_response(timeout=10)
    assert response["status"] == 201
    assert (b"x-echo", b"1") in response["headers"]
    echoed = json.loads(response["body"])
    env = echoed["environ"]
    assert echoed["body"] == '{"a": 1}'
    assert env["REQUEST_METHOD"] == "POST" and env["CONTENT_LENGTH"] == "8"
    assert env["PATH_INFO"].encode("latin-1").decode("utf-8") == "/api/\u05e4"
    assert env["QUERY_STRING"] == "q=1&x=%20"
    assert env["CONTENT_TYPE"] == "application/json" and env["HTTP_HOST"] == "hub.example"
    assert env["HTTP_X_ONE"] == "a,b"
    assert "HTTP_X_TENANT_ID" not in env  # underscore names are dropped, as gunicorn does


async def test_bridge_streams_a_body_larger_than_its_buffer():
    from channels.testing import ApplicationCommunicator

    bridge = WsgiBridge(_echo, workers=1, body_limit=4)
    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"", "http_version": "1.1",
             "headers": [(b"content-length", b"12")]}
    communicator = ApplicationCommunicator(bridge, scope)
    for part in (b"hello ", b"wor", b"ld!"):
        await communicator.send_input({"type": "http.request", "body": part, "more_body": part != b"ld!"})
    start = await communicator.receive_output(5)
    body = await communicator.receive_output(5)
    assert start["status"] == 201
    assert json.loads(body["body"])["body"] == "hello world!"


async def test_bridge_sends_a_streaming_response_chunk_by_chunk():
    threads: set[str] = set()

    class Stream:
        streaming = True
        closed_on: str | None = None

        def __iter__(self):
            for n in range(3):
                threads.add(threading.current_thread().name)
                yield f"chunk{n};".encode()

        def close(self):
            Stream.closed_on = threading.current_thread().name

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Stream()

    communicator = HttpCommunicator(WsgiBridge(app, workers=4, body_limit=100), "GET", "/")
    response = await communicator.get_response(timeout=10)
    await communicator.wait(5)  # close() runs after the last chunk is sent
    assert response["status"] == 200
    assert response["body"] == b"chunk0;chunk1;chunk2;"
    assert threads == {Stream.closed_on}  # iterated and closed on the one thread that produced it


async def test_bridge_answers_500_when_the_application_raises():
    def broken(environ, start_response):
        raise RuntimeError("boom with a secret sk_live_123")

    response = await HttpCommunicator(WsgiBridge(broken, workers=1, body_limit=100), "GET", "/").get_response(timeout=10)
    assert response["status"] == 500
    assert b"sk_live" not in response["body"] and b"boom" not in response["body"]
