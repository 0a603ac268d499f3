"""Twilio's adapter: HTTP Basic with the Account SID and auth token; SMS out through the
Message resource, delivery status callbacks and inbound SMS to the integration's hook URL.

Send: ``POST /Accounts/{AccountSid}/Messages.json`` (form: ``To``, ``From`` or
``MessagingServiceSid``, ``Body``, ``StatusCallback``) -> 201 with ``sid`` and ``status``
(https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource);
checked against the ``twilio`` SDK's own request in tests. Errors are JSON ``{"code",
"message", "status"}``: 401/20003 refused credentials, 429/20429 retried later
(https://www.twilio.com/docs/api/errors/20429), other 4xx (21211 bad number, 21610
unsubscribed recipient) fail the message.

Callbacks (form-encoded, ``X-Twilio-Signature``): a status callback carries ``MessageSid`` and
``MessageStatus``; an inbound message ``MessageSid``, ``From``, ``To``, ``Body``
(https://www.twilio.com/docs/messaging/guides/track-outbound-message-status,
https://www.twilio.com/docs/messaging/guides/webhook-request).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.providers import _messaging
from integrations.providers._messaging import MessageEvent, MessagingAdapter, OutboundMessage, SentMessage
from integrations.providers.adapter import basic

#: Twilio MessageStatus -> the message entity's status (None: an interim state, not recorded).
STATUSES: dict[str, str | None] = {
    "accepted": None, "scheduled": None, "queued": None, "sending": None, "receiving": None,
    "sent": "sent", "delivered": "delivered", "read": "read", "received": "received",
    "undelivered": "failed", "failed": "failed", "canceled": "failed",
}


class TwilioAdapter(MessagingAdapter):
    message_channel = "sms"
    receives_hooks = True

    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": basic(values.get("accountSid", ""), values.get("authToken", ""))}

    def hook_secrets(self, values: Mapping[str, Any]) -> list[str]:
        token = values.get("authToken")
        return [str(token)] if token else []

    # ------------------------------------------------------------------ settings
    def settings_defaults(self) -> dict[str, Any]:
        return _messaging.settings_defaults(fromNumber="")

    def settings_errors(self, value: Mapping[str, Any]) -> dict[str, list[str]]:
        return _messaging.settings_errors(value, channel_keys=("body",))

    # ------------------------------------------------------------------ send
    def send_message(self, client: Any, message: OutboundMessage) -> SentMessage:
        form = {"To": message.to, "Body": message.body}
        if message.sender.startswith("MG"):
            form["MessagingServiceSid"] = message.sender
        else:
            form["From"] = message.sender
        if message.status_callback:
            form["StatusCallback"] = message.status_callback
        answer = client.request("POST", "/Accounts/{accountSid}/Messages.json", data=form)
        if answer.status in (200, 201) and isinstance(answer.data, dict) and answer.data.get("sid"):
            return SentMessage(remote_id=answer.data["sid"], status=STATUSES.get(answer.data.get("status", ""))
                               or "sent")
        data = answer.data if isinstance(answer.data, dict) else {}
        _messaging.judge(answer, f"Twilio error {data.get('code', '')}: {str(data.get('message', ''))[:300]}".strip())
        raise _messaging.SendRefused(f"{answer.status}: unexpected answer")

    # ------------------------------------------------------------------ callbacks
    def hook_messages(self, payload: Any, query: Mapping[str, str],
                      values: Mapping[str, Any]) -> list[MessageEvent] | None:
        if not isinstance(payload, Mapping) or not payload.get("MessageSid"):
            return None
        if values.get("accountSid") and payload.get("AccountSid") and payload["AccountSid"] != values["accountSid"]:
            return []  # signed with our token but about another account: nothing of ours
        sid = str(payload["MessageSid"])
        if payload.get("MessageStatus") and payload.get("MessageStatus") != "received":
            status = STATUSES.get(str(payload["MessageStatus"]))
            if status is None:
                return []
            error = f"Twilio error {payload['ErrorCode']}" if payload.get("ErrorCode") else ""
            return [MessageEvent(kind="status", channel="sms", remote_id=sid, status=status, error=error)]
        return [MessageEvent(kind="inbound", channel="sms", remote_id=sid, sender=str(payload.get("From", "")),
                             to=str(payload.get("To", "")), body=str(payload.get("Body", "")))]
