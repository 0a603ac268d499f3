"""ASGI entry point: HTTP (Django) and /ws/events (Channels) on one origin."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "architect_studio.settings.dev")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402
from django.urls import path  # noqa: E402

from core.consumers import EventsConsumer  # noqa: E402

websocket_urlpatterns = [path("ws/events", EventsConsumer.as_asgi())]


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
        "http": django_asgi_app,
        "websocket": TokenOrSameOriginValidator(SessionMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
