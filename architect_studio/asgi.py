"""ASGI entry point: HTTP (Django) and /ws/events (Channels) on one origin.

HTTP goes to Django's WSGI application through ``wsgi_bridge.WsgiBridge``, which
reads the body in the event loop, runs the request on a thread of its own pool
and writes the finished response: one thread hop each way. Django's own ASGI
handler would run every sync view and middleware on one thread per process,
with several thread hops per request (signals, body, response): measured in
``bench/incoming.py`` on two uvicorn workers, a bare Django view served 316
requests/s through it. Every view here is sync (the ORM is), so nothing is
lost; WebSockets stay on Channels.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "architect_studio.settings.dev")
django_wsgi_app = get_wsgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import path  # noqa: E402

from architect_studio.wsgi_bridge import WsgiBridge  # noqa: E402
from tenancy.consumers import EventsConsumer, query_credential  # noqa: E402
from webhooks.incoming import conf as incoming_conf  # noqa: E402

websocket_urlpatterns = [path("ws/events", EventsConsumer.as_asgi())]


def allowed_ws_origins() -> list[str]:
    """The hub's own origin, ALLOWED_HOSTS (as Channels' AllowedHostsOriginValidator)
    and the SPA origins of CORS_ALLOWED_ORIGINS: one list for HTTP and WebSockets."""
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", ".localhost", "127.0.0.1", "[::1]"]
    return [*hosts, settings.PUBLIC_BASE_URL, *settings.CORS_ALLOWED_ORIGINS]


class TokenOrSameOriginValidator:
    """Cookie-authenticated sockets must come from an allowed origin (cross-site
    WebSocket hijacking rides on cookies); a socket with a non-empty `?ticket=` or `?token=` carries
    its own credential -- and the consumer then never looks at the session -- so tools
    and SPAs on other origins may connect with a token."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if query_credential(scope) is not None:
            return await self.app(scope, receive, send)
        # Built per connection: the allowed list follows settings (tests override them).
        return await OriginValidator(self.app, allowed_ws_origins())(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": WsgiBridge(
            django_wsgi_app,
            workers=settings.WEB_THREADS,
            body_limit=max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0, incoming_conf.max_body_bytes()) + 1,
        ),
        "websocket": TokenOrSameOriginValidator(SessionMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
