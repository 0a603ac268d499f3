"""The "test" button of an incoming webhook: sign a sample as a real sender would, run it through.

:func:`incoming_test` asks the webhook's scheme for the headers a real
sender adds (its test signer, :func:`webhooks.verification.sign_sample`),
verifies them with the webhook's own scheme and secret, stores the request
like any other and processes it inline (forwards included).
"""

from __future__ import annotations

import json
import time
import uuid

from django.db import transaction
from django.utils.translation import gettext_noop as N_

from core import outbound
from core.tenant_context import tenant_scope
from core.words import words
from webhooks.incoming import selectors
from webhooks.incoming.filters import arrival_verdict
from webhooks.incoming.models import WEBHOOK_TYPE
from webhooks.incoming.process import incoming_process
from webhooks.incoming.said import said
from webhooks.models import IncomingWebhook, WebhookLog
from webhooks.verification import InboundRequest, Sample, sign_sample, verify

SAMPLE_PAYLOAD = {"event": "test", "data": {"message": "Test delivery from Architect Studio"}}


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
        sample = Sample(secret=secrets[0], body=body, url=webhook.url, now=int(time.time()),
                        msg_id=f"msg_test_{uuid.uuid4().hex}") if secrets else None
        signed = sign_sample(scheme, sample) if sample else None
        if signed is None:
            verification = {"scheme": scheme, "ok": None,
                            **said("reason", words(N_("the hub cannot sign %(scheme)s requests; not verified"), scheme=scheme))}
        else:
            headers.update(signed)
            req = InboundRequest(method="POST", url=webhook.url, headers=headers, body=body)
            result = verify(scheme, req, secrets, config)
            verification = {"scheme": scheme, "ok": result.ok, "reason": result.reason}
            if not result.ok and result.words is not None:
                verification["reasonWords"] = result.words  # the reason said in a reader's language
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
