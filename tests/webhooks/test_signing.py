"""Tests for webhooks.signing: published vectors and the standardwebhooks library as oracle.

Pure tests: no Django, no database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
import time_machine
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support.webhooks import VECTOR_A, VECTOR_B
from webhooks.signing import (
    generate_whsec,
    hex_hmac_sha256,
    standard_headers,
    standard_signature,
    whsec_key_bytes,
)

# --- hex_hmac_sha256 -------------------------------------------------------


def test_hex_hmac_sha256_matches_rfc4231_test_case_2():
    # Given the RFC 4231 test case 2 key and data
    # When signing
    result = hex_hmac_sha256("Jefe", b"what do ya want for nothing?")
    # Then the published HMAC-SHA256 value comes out
    assert result == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_hex_hmac_sha256_uses_the_secret_strings_utf8_bytes_without_decoding():
    # Given a whsec_ secret (which Standard Webhooks would base64-decode)
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"a":1}'
    # When signing with the seed's scheme
    result = hex_hmac_sha256(secret, body)
    # Then the key is the literal string, as str or as bytes
    assert result == hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hex_hmac_sha256(secret.encode(), body) == result
    assert hex_hmac_sha256("clé", b"x") == hmac.new("clé".encode(), b"x", hashlib.sha256).hexdigest()


# --- generate_whsec / whsec_key_bytes --------------------------------------


def test_generate_whsec_wraps_32_random_bytes():
    # When generating two secrets
    first, second = generate_whsec(), generate_whsec()
    # Then both are whsec_ + standard base64 of 32 bytes, and they differ
    for secret in (first, second):
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret[len("whsec_") :], validate=True)) == 32
        assert whsec_key_bytes(secret) == base64.b64decode(secret[len("whsec_") :])
    assert first != second


def test_whsec_key_bytes_decodes_the_base64_part_of_a_prefixed_secret():
    assert whsec_key_bytes(VECTOR_A["secret"]) == base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")


@pytest.mark.parametrize(
    "unpadded", ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr"]
)
def test_whsec_key_bytes_accepts_unpadded_base64_like_the_official_library(unpadded):
    # Given an unpadded whsec_ secret (the official suites use these)
    # When deriving the key
    key = whsec_key_bytes(unpadded)
    # Then it equals what the standardwebhooks library derives
    assert key == Webhook(unpadded)._whsecret


@pytest.mark.parametrize(
    "secret",
    [
        "plain-secret-without-prefix",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # valid base64 but no prefix: still raw bytes
        "whsec_not*base64!",
        "whsec_abcde",  # impossible base64 length
        "whsec_",
    ],
)
def test_whsec_key_bytes_falls_back_to_utf8_bytes(secret):
    assert whsec_key_bytes(secret) == secret.encode("utf-8")


# --- standard_signature ----------------------------------------------------


@pytest.mark.parametrize("vector", [VECTOR_A, VECTOR_B], ids=["vector-a", "vector-b"])
def test_standard_signature_reproduces_the_published_vectors(vector):
    # When signing the published inputs
    result = standard_signature(vector["secret"], vector["msg_id"], vector["timestamp"], vector["body"])
    # Then the published signature comes out exactly
    assert result == vector["expected"]


@pytest.mark.parametrize("vector", [VECTOR_A, VECTOR_B], ids=["vector-a", "vector-b"])
def test_standard_headers_are_accepted_by_the_standardwebhooks_library(vector):
    # Given headers we produce
    headers = standard_headers([vector["secret"]], vector["msg_id"], vector["timestamp"], vector["body"])
    # When the reference library verifies them at the signing time
    with time_machine.travel(vector["timestamp"], tick=False):
        payload = Webhook(vector["secret"]).verify(vector["body"], headers)
    # Then it accepts and parses the body
    assert headers == {
        "webhook-id": vector["msg_id"],
        "webhook-timestamp": str(vector["timestamp"]),
        "webhook-signature": vector["expected"],
    }
    assert isinstance(payload, dict)


def test_standard_signature_equals_the_librarys_sign_for_a_generated_secret():
    # Given a freshly generated secret and an arbitrary body
    secret = generate_whsec()
    body = '{"id":"évt","n":1}'
    when = datetime.fromtimestamp(1700000000, tz=UTC)
    # When both sides sign
    ours = standard_signature(secret, "msg_1", 1700000000, body.encode("utf-8"))
    theirs = Webhook(secret).sign("msg_1", when, body)
    # Then they agree
    assert ours == theirs


def test_standard_headers_emit_one_signature_per_secret_for_rotation():
    # Given a current and a previous secret
    current, previous = generate_whsec(), generate_whsec()
    body = b'{"event":"task.created"}'
    # When building headers with both
    headers = standard_headers([current, previous], "msg_rot", 1700000000, body)
    # Then the signature header holds two v1 entries, current first
    entries = headers["webhook-signature"].split(" ")
    assert entries == [
        standard_signature(current, "msg_rot", 1700000000, body),
        standard_signature(previous, "msg_rot", 1700000000, body),
    ]
    # And a receiver that only knows the previous secret still accepts
    with time_machine.travel(1700000000, tick=False):
        Webhook(previous).verify(body, headers)
        Webhook(current).verify(body, headers)


def test_standard_headers_skip_empty_secrets_and_refuse_when_none_left():
    headers = standard_headers(
        ["", VECTOR_A["secret"]], VECTOR_A["msg_id"], VECTOR_A["timestamp"], VECTOR_A["body"]
    )
    assert headers["webhook-signature"] == VECTOR_A["expected"]
    with pytest.raises(ValueError):
        standard_headers([], "msg", 1, b"{}")
    with pytest.raises(ValueError):
        standard_headers([""], "msg", 1, b"{}")


def test_library_rejects_our_signature_when_body_changes():
    # Given headers for one body
    headers = standard_headers(
        [VECTOR_A["secret"]], VECTOR_A["msg_id"], VECTOR_A["timestamp"], VECTOR_A["body"]
    )
    # When another body is presented with them
    # Then the reference library refuses
    with time_machine.travel(VECTOR_A["timestamp"], tick=False), pytest.raises(WebhookVerificationError):
        Webhook(VECTOR_A["secret"]).verify(b'{"test": 2432232315}', headers)
