"""WhatsApp Business's adapter (Cloud API): the system-user access token as a Bearer token;
approved template messages out, delivery statuses and inbound messages by webhook.

Send: ``POST /{phone-number-id}/messages`` with ``type: template``, the template's name and
language and its body parameters (https://developers.facebook.com/docs/whatsapp/cloud-api/
reference/messages, "Template messages") -> 200 ``{"messages": [{"id": "wamid..."}]}``.
Errors are Graph errors ``{"error": {"code", "message", ...}}``
(https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes): code 190 (token
expired / invalid) or HTTP 401 refuse the credentials; 130429 / 131056 / 80007 / 4 (throughput,
pair rate, rate limits) and HTTP 429 are retried later; others (131026 undeliverable, 132001
template missing) fail the message.

Templates: ``GET /{waba-id}/message_templates`` (name, language, status, category, id), kept in
``settings.approvedTemplates`` in the seed's WhatsAppTemplate shape.

Webhooks (``messages`` field; https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/
payload-examples): ``entry[].changes[].value.statuses[]`` (sent, delivered, read, failed with
``errors``) and ``value.messages[]`` (inbound; text in ``text.body``), both only for our
``metadata.phone_number_id``. The GET ``hub.challenge`` subscription check answers with the
connection's ``verifyToken``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from integrations.providers import _messaging
from integrations.providers._messaging import MessageEvent, MessagingAdapter, OutboundMessage, SentMessage
from integrations.providers.adapter import Container, CredentialsRefused, PageSetting

RETRY_CODES = frozenset({4, 80007, 130429, 131056})
STATUSES = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}
MAX_TEMPLATE_PAGES = 10


class WhatsappBusinessAdapter(MessagingAdapter):
    message_channel = "whatsapp"
    receives_hooks = True
    #: The settings page fetches the templates into ``approvedTemplates`` and picks one per rule.
    page_settings = (PageSetting("approvedTemplates", "templates", "templates"),)

    def setting_choices(self, client: Any, source: str, settings: Mapping[str, Any]) -> list[Container]:
        if source != "templates":
            return super().setting_choices(client, source, settings)
        return [Container(id=t["templateName"], name=t["templateName"], raw=t) for t in self.list_templates(client)]

    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {values.get('accessToken', '')}"}

    def hook_secrets(self, values: Mapping[str, Any]) -> list[str]:
        secret = values.get("appSecret")
        return [str(secret)] if secret else []

    def hook_config(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {"verifyToken": str(values.get("verifyToken") or "")}

    # ------------------------------------------------------------------ settings
    def settings_defaults(self) -> dict[str, Any]:
        return _messaging.settings_defaults(approvedTemplates=[])

    def settings_errors(self, value: Mapping[str, Any]) -> dict[str, list[str]]:
        errors = _messaging.settings_errors(value, channel_keys=("template", "language", "parameters"))
        templates = value.get("approvedTemplates", [])
        if not isinstance(templates, list) or len(templates) > 500:
            errors.setdefault("approvedTemplates", []).append(_("must be the list fetched from the account"))
        return errors

    def list_templates(self, client: Any) -> list[dict[str, str]]:
        """The account's message templates, in the seed's WhatsAppTemplate shape."""
        found: list[dict[str, str]] = []
        path = "/{businessAccountId}/message_templates"
        params: dict[str, Any] | None = {"fields": "name,language,status,category,id", "limit": 100}
        for _page in range(MAX_TEMPLATE_PAGES):
            answer = client.request("GET", path, params=params)
            if answer.status in (401, 403) or (isinstance(answer.data, dict) and _code(answer.data) == 190):
                raise CredentialsRefused("WhatsApp refused the access token")
            if not answer.ok or not isinstance(answer.data, dict):
                break
            for item in answer.data.get("data", []):
                if isinstance(item, dict) and item.get("name"):
                    found.append({"templateName": str(item["name"]), "templateId": str(item.get("id", "")),
                                  "language": str(item.get("language", "")), "category": str(item.get("category", "")),
                                  "status": str(item.get("status", ""))})
            after = ((answer.data.get("paging") or {}).get("cursors") or {}).get("after")
            if not (answer.data.get("paging") or {}).get("next") or not after:
                break
            params = {"fields": "name,language,status,category,id", "limit": 100, "after": after}
        return found

    # ------------------------------------------------------------------ send
    def message_body(self, message: OutboundMessage) -> dict[str, Any]:
        template: dict[str, Any] = {"name": message.template, "language": {"code": message.language or "he"}}
        if message.parameters:
            template["components"] = [{"type": "body", "parameters": [
                {"type": "text", "text": text} for text in message.parameters]}]
        return {"messaging_product": "whatsapp", "recipient_type": "individual",
                "to": message.to.lstrip("+"), "type": "template", "template": template}

    def send_message(self, client: Any, message: OutboundMessage) -> SentMessage:
        answer = client.request("POST", "/{phoneNumberId}/messages", json=self.message_body(message))
        data = answer.data if isinstance(answer.data, dict) else {}
        messages = data.get("messages")
        if answer.ok and isinstance(messages, list) and messages and isinstance(messages[0], dict):
            return SentMessage(remote_id=str(messages[0].get("id", "")), status="sent")
        code = _code(data)
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        text = f"WhatsApp error {code}: {str(error.get('message', ''))[:300]}"
        if code == 190:
            raise CredentialsRefused(text)
        if code in RETRY_CODES:
            raise _messaging.SendDeferred(text)
        _messaging.judge(answer, text)
        raise _messaging.SendRefused(f"{answer.status}: unexpected answer")

    # ------------------------------------------------------------------ webhooks
    def hook_messages(self, payload: Any, query: Mapping[str, str],
                      values: Mapping[str, Any]) -> list[MessageEvent] | None:
        phone_number_id = str(values.get("phoneNumberId") or "")
        if not isinstance(payload, Mapping) or payload.get("object") != "whatsapp_business_account":
            return None
        found = []
        for entry in payload.get("entry") or []:
            for change in (entry.get("changes") or []) if isinstance(entry, Mapping) else []:
                value = change.get("value") if isinstance(change, Mapping) else None
                if not isinstance(value, Mapping) or change.get("field") != "messages":
                    continue
                ours = (value.get("metadata") or {}).get("phone_number_id")
                if phone_number_id and ours and str(ours) != phone_number_id:
                    continue  # one Meta app, several numbers: another integration's
                own = str((value.get("metadata") or {}).get("display_phone_number", ""))
                for status in value.get("statuses") or []:
                    mapped = STATUSES.get(str(status.get("status", ""))) if isinstance(status, Mapping) else None
                    if mapped:
                        errors = status.get("errors") or []
                        error = ""
                        if errors and isinstance(errors[0], Mapping):
                            error = f"WhatsApp error {errors[0].get('code', '')}: {errors[0].get('title', '')}"[:300]
                        found.append(MessageEvent(kind="status", channel="whatsapp", remote_id=str(status.get("id", "")),
                                                  status=mapped, error=error))
                for message in value.get("messages") or []:
                    if not isinstance(message, Mapping) or not message.get("id"):
                        continue
                    text = (message.get("text") or {}).get("body") if message.get("type") == "text" else None
                    if text is None:
                        text = f"[{message.get('type', 'message')}]"
                    found.append(MessageEvent(kind="inbound", channel="whatsapp", remote_id=str(message["id"]),
                                              sender=str(message.get("from", "")), to=own, body=str(text)))
        return found


def _code(data: Mapping[str, Any]) -> int | None:
    error = data.get("error")
    if isinstance(error, Mapping):
        try:
            return int(error.get("code"))
        except (TypeError, ValueError):
            return None
    return None
