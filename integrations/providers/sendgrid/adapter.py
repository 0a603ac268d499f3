"""SendGrid's adapter: the API key as a Bearer token; email out with dynamic templates, the
Event Webhook (signed, ECDSA) to the integration's hook URL.

Send: ``POST /v3/mail/send`` with ``personalizations[].dynamic_template_data`` and
``template_id`` -> 202, no body, the message id in ``X-Message-Id``
(https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send); the body is checked
against the ``sendgrid`` SDK's ``Mail`` in tests. The hub's message id goes out as the custom
arg ``architectStudioId``, which every event of that message carries back. Errors are
``{"errors": [{"message", "field"}]}``: 401/403 refused key, 429 retried later, other 4xx fail.

Events (https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event): a JSON
array; ``processed`` -> sent, ``delivered``, ``open`` -> read, ``bounce`` / ``dropped`` ->
failed; ``unsubscribe`` / ``group_unsubscribe`` / ``spamreport`` opt the address out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.providers import _messaging
from integrations.providers._messaging import MessageEvent, MessagingAdapter, OutboundMessage, SentMessage

HUB_ID_ARG = "architectStudioId"
STATUSES = {"processed": "sent", "delivered": "delivered", "open": "read", "bounce": "failed", "dropped": "failed"}
OPT_OUTS = ("unsubscribe", "group_unsubscribe", "spamreport")


class SendgridAdapter(MessagingAdapter):
    message_channel = "email"
    receives_hooks = True

    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {values.get('apiKey', '')}"}

    def hook_secrets(self, values: Mapping[str, Any]) -> list[str]:
        key = values.get("eventWebhookPublicKey")
        return [str(key)] if key else []

    # ------------------------------------------------------------------ settings
    def settings_defaults(self) -> dict[str, Any]:
        return _messaging.settings_defaults(fromEmail="", fromName="")

    def settings_errors(self, value: Mapping[str, Any]) -> dict[str, list[str]]:
        return _messaging.settings_errors(value, channel_keys=("template", "dynamicData", "subject", "body"))

    # ------------------------------------------------------------------ send
    def mail_body(self, message: OutboundMessage) -> dict[str, Any]:
        personalization: dict[str, Any] = {"to": [{"email": message.to}]}
        if message.template:
            personalization["dynamic_template_data"] = dict(message.dynamic_data)
        if message.hub_id:
            personalization["custom_args"] = {HUB_ID_ARG: message.hub_id}
        sender = {"email": message.sender, **({"name": message.sender_name} if message.sender_name else {})}
        body: dict[str, Any] = {"from": sender, "personalizations": [personalization]}
        if message.template:
            body["template_id"] = message.template
        else:
            body["subject"] = message.subject
            body["content"] = [{"type": "text/plain", "value": message.body}]
        return body

    def send_message(self, client: Any, message: OutboundMessage) -> SentMessage:
        answer = client.request("POST", "/v3/mail/send", json=self.mail_body(message))
        if answer.status == 202:
            headers = {k.lower(): v for k, v in (answer.headers or {}).items()}
            return SentMessage(remote_id=headers.get("x-message-id", ""), status="sent")
        data = answer.data if isinstance(answer.data, dict) else {}
        errors = data.get("errors") if isinstance(data.get("errors"), list) else []
        text = "; ".join(str(e.get("message", ""))[:200] for e in errors[:3] if isinstance(e, dict))
        _messaging.judge(answer, f"SendGrid: {text}" if text else "SendGrid error")
        raise _messaging.SendRefused(f"{answer.status}: unexpected answer")

    # ------------------------------------------------------------------ events
    def hook_messages(self, payload: Any, query: Mapping[str, str],
                      values: Mapping[str, Any]) -> list[MessageEvent] | None:
        if not isinstance(payload, list):
            return None
        found = []
        for event in payload[:1000]:
            if not isinstance(event, Mapping):
                continue
            kind, email = str(event.get("event", "")), str(event.get("email", ""))
            remote_id = str(event.get("sg_message_id", "")).split(".", 1)[0]
            if kind in OPT_OUTS and email:
                found.append(MessageEvent(kind="opt_out", channel="email", to=email, status=kind))
            status = STATUSES.get(kind)
            if status:
                error = str(event.get("reason", "") or event.get("response", ""))[:300] if status == "failed" else ""
                found.append(MessageEvent(kind="status", channel="email", remote_id=remote_id, status=status,
                                          error=error, hub_id=str(event.get(HUB_ID_ARG, ""))))
        return found
