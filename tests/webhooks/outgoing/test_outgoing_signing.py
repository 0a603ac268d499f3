"""Outgoing request headers and signatures, byte-exact (C7, issue item 5)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from tests.support.webhooks import STANDARD_VECTORS
from webhooks.models import OutgoingWebhook
from webhooks.outgoing.services import build_headers

# The Standard Webhooks published vectors as (secret, msg_id, timestamp, body, expected).
VECTORS = [(v["secret"], v["msg_id"], v["timestamp"], v["body"], v["expected"]) for v in STANDARD_VECTORS]


def _webhook(secret: str, scheme: str = "standard", **extra) -> OutgoingWebhook:
    webhook = OutgoingWebhook(
        name="w", url="https://example.com/h", triggers=[], sign_requests=True, signature_scheme=scheme, **extra
    )
    webhook.set_secret("signature_secret", secret)
    return webhook


@pytest.mark.parametrize(("secret", "msg_id", "ts", "body", "expected"), VECTORS)
def test_standard_scheme_reproduces_the_spec_vectors(secret, msg_id, ts, body, expected):
    headers, _logged = build_headers(webhook=_webhook(secret), delivery_id=msg_id, event_type="meeting.created", body=body, timestamp=ts)

    assert headers["webhook-signature"] == expected
    assert headers["webhook-id"] == msg_id
    assert headers["webhook-timestamp"] == str(ts)


def test_hex_signature_is_hmac_of_the_exact_body_bytes_in_the_configured_header():
    body = '{"title":"פגישה \\"חשובה\\"\\n"}'.encode()
    webhook = _webhook("my-plain-secret", scheme="hex", signature_header="X-Studio-Sig")

    headers, logged = build_headers(webhook=webhook, delivery_id="d-1", event_type="task.updated", body=body, timestamp=1)

    assert headers["X-Studio-Sig"] == hmac.new(b"my-plain-secret", body, hashlib.sha256).hexdigest()
    assert "webhook-signature" not in headers
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Webhook-Event"] == "task.updated"
    assert headers["X-Webhook-Delivery"] == "d-1"
    assert logged["X-Studio-Sig"] == "[redacted]"


def test_standard_headers_verify_with_the_standardwebhooks_library():
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    body = '{"entity":{"title":"שלום"}}'.encode()
    now = timezone.now()
    headers, _ = build_headers(webhook=_webhook(secret), delivery_id="9f1c", event_type="meeting.created", body=body, timestamp=int(now.timestamp()))

    assert Webhook(secret).verify(body, headers) == {"entity": {"title": "שלום"}}
    # No timestamp-less hex signature with the same secret next to them (issue 10 item 8):
    # it would let a captured request be replayed past the Standard Webhooks window
    assert "X-Webhook-Signature" not in headers
    assert hmac.new(secret.encode(), body, hashlib.sha256).hexdigest() not in headers.values()


def test_previous_secret_signs_alongside_during_rotation_then_stops():
    old = "whsec_" + base64.b64encode(b"o" * 32).decode()
    new = "whsec_" + base64.b64encode(b"n" * 32).decode()
    webhook = _webhook(new)
    webhook.set_secret("previous_signature_secret", old)
    webhook.previous_secret_expires_at = timezone.now() + dt.timedelta(hours=24)
    body = b'{"a":1}'
    ts = int(timezone.now().timestamp())

    headers, _ = build_headers(webhook=webhook, delivery_id="msg_1", event_type="e", body=body, timestamp=ts)

    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(body, headers) == {"a": 1}
    assert Webhook(new).verify(body, headers) == {"a": 1}
    later = timezone.now() + dt.timedelta(hours=25)
    headers, _ = build_headers(webhook=webhook, delivery_id="msg_1", event_type="e", body=body, timestamp=ts, now=later)
    assert len(headers["webhook-signature"].split(" ")) == 1


def test_custom_headers_cannot_override_signature_or_delivery_headers():
    webhook = _webhook("plain-secret-1", scheme="hex")
    webhook.headers = {"X-Webhook-Delivery": "forged", "X-Webhook-Signature": "forged", "X-Team": "studio", "Authorization": "Bearer abc"}

    headers, logged = build_headers(webhook=webhook, delivery_id="real", event_type="e", body=b"{}", timestamp=1)

    assert headers["X-Webhook-Delivery"] == "real"
    assert headers["X-Webhook-Signature"] == hmac.new(b"plain-secret-1", b"{}", hashlib.sha256).hexdigest()
    assert headers["X-Team"] == "studio"
    assert headers["Authorization"] == "Bearer abc"
    assert logged["Authorization"] == "[redacted]"
