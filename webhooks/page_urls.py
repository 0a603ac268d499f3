"""The webhook builder's pages at the site root (included from architect_studio/urls.py)."""

from django.urls import re_path

from webhooks.pages import incoming, index, logs, outgoing

UUID = r"(?P<{}>[0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{12}})"
WID, LID = UUID.format("webhook_id"), UUID.format("log_id")

urlpatterns = [
    re_path(r"^webhooks/?$", index.webhooks_page, name="webhooks-page"),
    re_path(r"^webhooks/incoming/new/?$", incoming.incoming_new, name="incoming-webhook-new"),
    re_path(rf"^webhooks/incoming/{WID}/?$", incoming.incoming_detail, name="incoming-webhook-page"),
    re_path(rf"^webhooks/incoming/{WID}/rotate-secret/?$", incoming.incoming_rotate, name="incoming-webhook-rotate"),
    re_path(rf"^webhooks/incoming/{WID}/test/?$", incoming.incoming_test, name="incoming-webhook-test"),
    re_path(rf"^webhooks/incoming/{WID}/delete/?$", incoming.incoming_delete, name="incoming-webhook-delete"),
    re_path(rf"^webhooks/incoming/{WID}/logs/?$", incoming.incoming_logs, name="incoming-webhook-logs"),
    re_path(r"^webhooks/outgoing/new/?$", outgoing.outgoing_new, name="outgoing-webhook-new"),
    re_path(r"^webhooks/outgoing/preview/?$", outgoing.outgoing_preview, name="outgoing-webhook-preview"),
    re_path(r"^webhooks/outgoing/placeholders/?$", outgoing.outgoing_placeholders, name="outgoing-webhook-placeholders"),
    re_path(rf"^webhooks/outgoing/{WID}/?$", outgoing.outgoing_detail, name="outgoing-webhook-page"),
    re_path(rf"^webhooks/outgoing/{WID}/test/?$", outgoing.outgoing_test, name="outgoing-webhook-test"),
    re_path(rf"^webhooks/outgoing/{WID}/delete/?$", outgoing.outgoing_delete, name="outgoing-webhook-delete"),
    re_path(rf"^webhooks/outgoing/{WID}/logs/?$", outgoing.outgoing_logs, name="outgoing-webhook-logs"),
    re_path(rf"^webhooks/outgoing/{WID}/status/?$", outgoing.outgoing_status, name="outgoing-webhook-status"),
    re_path(rf"^webhooks/logs/{LID}/?$", logs.log_detail, name="webhook-log-page"),
    re_path(rf"^webhooks/logs/{LID}/replay/?$", logs.log_replay, name="webhook-log-replay-page"),
]
