from django.urls import re_path

from core.routers import OptionalSlashRouter
from webhooks.outgoing.views import (
    OutgoingWebhookViewSet,
    WebhookLogDetailView,
    WebhookLogListView,
    WebhookLogReplayView,
    WebhookLogsView,
    WebhookTestView,
)

router = OptionalSlashRouter()
router.register("webhooks/outgoing", OutgoingWebhookViewSet, basename="outgoing-webhook")

# The shared endpoints serve both kinds of webhook (seed section ח).
urlpatterns: list = [
    *router.urls,
    re_path(r"^webhooks/(?P<webhook_id>[^/]+)/test/?$", WebhookTestView.as_view(), name="webhook-test"),
    re_path(r"^webhooks/(?P<webhook_id>[^/]+)/logs/?$", WebhookLogsView.as_view(), name="webhook-logs"),
    re_path(r"^webhook-logs/?$", WebhookLogListView.as_view(), name="webhook-log-list"),
    re_path(r"^webhook-logs/(?P<log_id>[^/]+)/replay/?$", WebhookLogReplayView.as_view(), name="webhook-log-replay"),
    re_path(r"^webhook-logs/(?P<log_id>[^/]+)/?$", WebhookLogDetailView.as_view(), name="webhook-log-detail"),
]
