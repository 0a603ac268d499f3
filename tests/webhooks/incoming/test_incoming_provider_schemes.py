"""The public endpoint with the schemes added by issue 10 item 8 (Google push channels,
monday.com JWTs and challenge, PayPlus' hash header), and the test endpoint signing
for them. monday JWTs are made with PyJWT."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from django.test import Client

from tests.support.webhooks import logs_of, make_webhook, path_of, post
from webhooks.incoming import services

pytestmark = pytest.mark.django_db

TOKEN = "goog-channel-token-0123456789abcdef0123"


def goog(client_path: str, state: str = "exists", number: str = "7", token: str = TOKEN):
    return Client().generic(
        "POST", client_path, b"", content_type="",
        HTTP_X_GOOG_CHANNEL_ID="chan-1", HTTP_X_GOOG_CHANNEL_TOKEN=token, HTTP_X_GOOG_RESOURCE_STATE=state,
        HTTP_X_GOOG_MESSAGE_NUMBER=number, HTTP_X_GOOG_RESOURCE_ID="res-1",
    )


def test_google_channel_sync_is_acknowledged_and_notifications_are_stored_once(alice):
    webhook, _ = make_webhook(alice, verification_scheme="google_channel_token", secret=TOKEN)
    path = path_of(webhook)
    # The channel's first message is acknowledged and not stored
    sync = goog(path, state="sync", number="1")
    assert (sync.status_code, sync.content) == (200, b"")
    assert logs_of(alice) == []
    # A notification with the channel token is stored; the same message number again is a duplicate
    first = goog(path)
    assert first.status_code == 202, first.content
    again = goog(path)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    [log] = logs_of(alice)
    assert log.dedupe_key == "goog:chan-1:7"
    assert log.headers["X-Goog-Channel-Token"] == "[redacted]"
    # A wrong token is refused, sync or not
    assert goog(path, number="8", token="guess").status_code == 401
    assert goog(path, state="sync", token="guess").status_code == 401


def test_monday_challenge_is_echoed_and_signed_events_are_accepted(alice):
    secret = "monday-signing-secret-0123456789abcdef"
    webhook, _ = make_webhook(alice, verification_scheme="monday_jwt", secret=secret)
    path = path_of(webhook)
    challenge = post(path, b'{"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}')
    assert challenge.status_code == 200
    assert challenge["Content-Type"].startswith("application/json")
    assert challenge.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert logs_of(alice) == []

    body = json.dumps({"event": {"type": "create_pulse", "triggerUuid": "tu-1", "pulseName": "Kitchen"}}).encode()
    url = "http://localhost:8000" + path
    token = jwt.encode({"accountId": 1, "aud": url, "exp": int(time.time()) + 300}, secret, algorithm="HS256")
    accepted = post(path, body, HTTP_AUTHORIZATION=token)
    assert accepted.status_code == 202, accepted.content
    [log] = logs_of(alice)
    assert log.dedupe_key == "monday:tu-1" and log.headers["Authorization"] == "[redacted]"
    expired = jwt.encode({"aud": url, "exp": int(time.time()) - 120}, secret, algorithm="HS256")
    assert post(path, body, HTTP_AUTHORIZATION=expired).status_code == 401
    assert post(path, body).status_code == 401


def test_payplus_hash_header_is_accepted_and_a_replay_is_a_duplicate(alice):
    secret = "payplus-secret-key-123"
    webhook, _ = make_webhook(alice, verification_scheme="payplus", secret=secret)
    body = json.dumps({"transaction": {"uid": "c0f7", "status_code": "000"}}).encode()
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    first = post(path_of(webhook), body, HTTP_HASH=digest, HTTP_USER_AGENT="PayPlus")
    assert first.status_code == 202, first.content
    replay = post(path_of(webhook), body, HTTP_HASH=digest, HTTP_USER_AGENT="PayPlus")
    assert replay.status_code == 200 and replay.json()["logId"] == first.json()["logId"]
    assert post(path_of(webhook), body + b" ", HTTP_HASH=digest).status_code == 401


@pytest.mark.parametrize("scheme", ["google_channel_token", "monday_jwt", "payplus"])
def test_the_test_endpoint_signs_for_the_new_schemes(alice, scheme):
    webhook, _ = make_webhook(alice, verification_scheme=scheme, actions=[])
    outcome = services.incoming_test(webhook)
    assert outcome["verification"] == {"scheme": scheme, "ok": True, "reason": ""}
    assert outcome["status"] == "success"
