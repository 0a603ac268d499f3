"""ASGI entry point: HTTP (Django) and /ws/events (Channels) on one origin.

HTTP goes to Django's WSGI application through a2wsgi's bridge, which runs each
request on a thread of its own pool. Django's own ASGI handler would run every
sync view and middleware on one thread per process, with several thread hops
per request (signals, body, response): measured in ``bench/incoming.py`` on
two uvicorn workers, a bare Django view served 316 requests/s through it and
976 through the bridge. Every view here is sync (the ORM is), so nothing is
lost; WebSockets stay on Channels.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "architect_studio.settings.dev")
django_wsgi_app = get_wsgi_application()

from a2wsgi import WSGIMiddleware  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import path  # noqa: E402

from core.consumers import EventsConsumer  # noqa: E402
from webhooks.incoming import conf as incoming_conf  # noqa: E402

websocket_urlpatterns = [path("ws/events", EventsConsumer.as_asgi())]


class SizeUnsizedBodies:
    """Give every HTTP request a Content-Length before it reaches WSGI.

    WSGI (Django's ``WSGIRequest``) reads exactly ``CONTENT_LENGTH`` bytes, so a
    chunked request — no Content-Length, which some webhook senders use —
    would arrive with an empty body. Such a body is read here first, up to
    ``limit`` bytes (413 beyond it), and handed on with its length; requests
    that state their length stream through untouched.
    """

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or any(name == b"content-length" for name, _ in scope["headers"]):
            return await self.app(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                body = b'{"error": {"code": "payload_too_large", "message": "The request body is too large."}}'
                await send({"type": "http.response.start", "status": 413,
                            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = [(n, v) for n, v in scope["headers"] if n != b"transfer-encoding"]
        headers.append((b"content-length", str(len(body)).encode()))
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app({**scope, "headers": headers}, replay, send)


class TokenOrSameOriginValidator:
    """Cookie-authenticated sockets must come from an allowed origin (cross-site
    WebSocket hijacking rides on cookies); `?token=` sockets carry their own
    credential, so tools and SPAs on other origins may connect with a token."""

    def __init__(self, app):
        self.app = app
        self.origin_checked = AllowedHostsOriginValidator(app)

    async def __call__(self, scope, receive, send):
        if b"token=" in (scope.get("query_string") or b""):
            return await self.app(scope, receive, send)
        return await self.origin_checked(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": SizeUnsizedBodies(
            WSGIMiddleware(django_wsgi_app, workers=settings.WEB_THREADS),
            limit=max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0, incoming_conf.max_body_bytes()) + 1,
        ),
        "websocket": TokenOrSameOriginValidator(SessionMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
