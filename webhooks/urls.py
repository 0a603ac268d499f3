from webhooks.incoming.urls import urlpatterns as incoming_urlpatterns
from webhooks.outgoing.urls import urlpatterns as outgoing_urlpatterns

# The shared endpoints (`/api/webhooks/:id/test`, `/api/webhooks/:id/logs`,
# `/api/webhook-logs/:logId`, replay) live in webhooks.outgoing.urls and dispatch
# to webhooks.incoming.services for incoming webhooks.
# Incoming first: the public endpoint is the most requested path of the hub, and
# URL resolution tries patterns in order (no pattern of one side overlaps the other).
urlpatterns = [*incoming_urlpatterns, *outgoing_urlpatterns]
