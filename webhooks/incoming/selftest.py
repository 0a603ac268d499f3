"""The "test" button of an incoming webhook: sign a sample as a real sender would, run it through.

:func:`incoming_test` builds the headers a sender of the webhook's scheme
adds, verifies them with the webhook's own scheme and secret, stores the
request like any other and processes it inline (forwards included).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.db import transaction

from core import outbound
from core.tenant_context import tenant_scope
from webhooks import signing
from webhooks.incoming import selectors
from webhooks.incoming.filters import arrival_verdict
from webhooks.incoming.models import WEBHOOK_TYPE
from webhooks.incoming.process import incoming_process
from webhooks.models import IncomingWebhook, WebhookLog
from webhooks.verification import InboundRequest, verify

SAMPLE_PAYLOAD = {"event": "test", "data": {"message": "Test delivery from Architect Studio"}}


def _test_headers(scheme: str, secret: str, body: bytes, url: str, config: dict[str, Any]) -> dict[str, str] | None:
    """Headers a real sender of ``scheme`` would add, or None when the hub cannot sign for it."""
    import base64
    import hashlib
    import hmac
    import time

    now = int(time.time())
    msg_id = f"msg_test_{uuid.uuid4().hex}"
    b64 = lambda data: base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha256).digest()).decode()  # noqa: E731
    if scheme == "hmac":
        return {"X-Webhook-Signature": signing.hex_hmac_sha256(secret, body), "X-Request-Id": msg_id}
    if scheme == "standard":
        return signing.standard_headers([secret], msg_id, now, body)
    if scheme == "stripe":
        return {"Stripe-Signature": f"t={now},v1={signing.hex_hmac_sha256(secret, f'{now}.'.encode() + body)}"}
    if scheme == "meta":
        return {"X-Hub-Signature-256": "sha256=" + signing.hex_hmac_sha256(secret, body)}
    if scheme == "dropbox":
        return {"X-Dropbox-Signature": signing.hex_hmac_sha256(secret, body)}
    if scheme == "xero":
        return {"x-xero-signature": b64(body)}
    if scheme == "quickbooks":
        return {"intuit-signature": b64(body)}
    if scheme == "hubspot":
        ts = str(now * 1000)
        return {"X-HubSpot-Signature-v3": b64(b"POST" + url.encode() + body + ts.encode()),
                "X-HubSpot-Request-Timestamp": ts}
    if scheme == "payplus":
        return {"hash": b64(body), "User-Agent": "PayPlus"}
    if scheme == "google_channel_token":
        return {"X-Goog-Channel-ID": msg_id, "X-Goog-Channel-Token": secret, "X-Goog-Resource-State": "exists",
                "X-Goog-Message-Number": "1"}
    if scheme == "monday_jwt":
        import jwt

        return {"Authorization": jwt.encode({"aud": url, "iat": now, "exp": now + 300}, secret, algorithm="HS256")}
    if scheme == "none":
        return {}
    return None  # twilio (form/URL-signed), graph (clientState in body), sendgrid (private key)


@transaction.atomic
def incoming_test(webhook: IncomingWebhook, *, payload: dict | None = None) -> dict:
    """Sign a sample payload, run it through the real pipeline, report per action.

    The request is verified with the webhook's own scheme and secret, stored
    as a log row like any other (its ``X-Request-Id`` is unique, so dedupe
    never hides it) and processed inline - forwards included - so the caller
    sees each action's outcome at once. Counters are not touched.
    """
    body_value = payload if payload is not None else {**SAMPLE_PAYLOAD, "webhookId": str(webhook.id)}
    body = json.dumps(body_value, separators=(",", ":"), ensure_ascii=False).encode()
    scheme = webhook.verification_scheme
    with tenant_scope(webhook.tenant_id):
        secrets = selectors.incoming_valid_secrets(webhook=webhook)
        headers = {"Content-Type": "application/json", "User-Agent": outbound.USER_AGENT}
        config = webhook.opened_verification_config()
        signed = _test_headers(scheme, secrets[0], body, webhook.url, config) if secrets else None
        if signed is None:
            verification = {"scheme": scheme, "ok": None, "reason": f"the hub cannot sign {scheme} requests; not verified"}
        else:
            headers.update(signed)
            req = InboundRequest(method="POST", url=webhook.url, headers=headers, body=body)
            result = verify(scheme, req, secrets, config)
            verification = {"scheme": scheme, "ok": result.ok, "reason": result.reason}
            if not result.ok:
                return {"status": "failed", "verification": verification, "actions": [], "logId": None}
        log_row = WebhookLog.objects.create(
            tenant_id=webhook.tenant_id, webhook_id=webhook.id, webhook_type=WEBHOOK_TYPE, direction=WebhookLog.Direction.INCOMING,
            method="POST", url=webhook.url, headers=outbound.redact_headers(headers), body=body_value,
            status=WebhookLog.Status.PENDING, attempt=1, max_attempts=1, event_type="test",
            result=arrival_verdict(webhook, headers),
        )
        outcome = incoming_process(log=log_row, inline_forward=True, count=False)
    return {"logId": str(log_row.id), "verification": verification, **outcome}
