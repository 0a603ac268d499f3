"""/api/integrations/... (included under api/). Explicit paths come before the router's
``<id>`` routes; ids are UUIDs, so 'providers' / 'connect' never reach the viewset."""

from django.urls import re_path

from core.routers import OptionalSlashRouter
from integrations.hook_views import provider_hook
from integrations.push_views import app_push, google_push, graph_push
from integrations.views import ConnectView, IntegrationViewSet, ProvidersView, oauth_callback

router = OptionalSlashRouter()
router.register("integrations", IntegrationViewSet, basename="integration")

urlpatterns = [
    re_path(r"^integrations/providers/?$", ProvidersView.as_view(), name="integration-providers"),
    re_path(r"^integrations/connect/(?P<provider>[a-z0-9_]{1,50})/?$", ConnectView.as_view(), name="integration-connect"),
    re_path(r"^integrations/callback/(?P<provider>[a-z0-9_]{1,50})/?$", oauth_callback, name="integration-callback"),
    # Provider push notifications (realtime import): public, authenticated by the channel's token.
    re_path(r"^integrations/push/app/(?P<provider>[a-z0-9_]{1,50})/?$", app_push, name="integration-push-app"),
    re_path(r"^integrations/push/google/(?P<channel>[0-9a-fA-F-]{36})/?$", google_push, name="integration-push-google"),
    re_path(r"^integrations/push/graph/(?P<subscription>[0-9a-fA-F-]{36})/?$", graph_push,
            name="integration-push-graph"),
    # Provider webhooks to an integration (Stripe events, payment callbacks): public, verified per provider.
    re_path(r"^integrations/hooks/(?P<integration>[0-9a-fA-F-]{36})/?$", provider_hook, name="integration-hook"),
    *router.urls,
]
