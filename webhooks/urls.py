from webhooks.incoming.urls import urlpatterns as incoming_urlpatterns
from webhooks.outgoing.urls import urlpatterns as outgoing_urlpatterns

# The shared endpoints (`/api/webhooks/:id/test`, `/api/webhooks/:id/logs`,
# `/api/webhook-logs/:logId`, replay) live in webhooks.outgoing.urls and dispatch
# to webhooks.incoming.services for incoming webhooks.
urlpatterns = [*outgoing_urlpatterns, *incoming_urlpatterns]
