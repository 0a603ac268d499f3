from django.urls import re_path

from core.routers import OptionalSlashRouter
from webhooks.incoming.views import IncomingWebhookViewSet, public_endpoint

router = OptionalSlashRouter()
router.register("webhooks/incoming", IncomingWebhookViewSet, basename="incoming-webhook")

urlpatterns = [
    # Public, unauthenticated (C6). Any path segment is accepted here so that
    # malformed ids get the same 404 as unknown ones (no probing).
    re_path(
        r"^webhooks/tenant/(?P<tenant_id>[^/]+)/(?P<webhook_id>[^/]+)/?$",
        public_endpoint,
        name="incoming-webhook-public",
    ),
    *router.urls,
]
