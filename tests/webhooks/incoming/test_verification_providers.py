"""The verifiers added by issue 10 item 8: Google push channels, monday.com JWTs,
PayPlus' base64 ``hash`` header, and the hmac scheme's body-hash dedupe.

monday JWTs are made with PyJWT (an independent implementation of HS256 JWTs);
PayPlus and Google have no SDK for this, so their values are built with
hashlib/hmac as their documentation describes. Pure tests: no database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt
import pytest

from webhooks.verification import (
    SCHEMES,
    HandshakeResponse,
    InboundRequest,
    VerificationResult,
    describe,
    handshake,
    verify,
)

NOW = 1_700_000_000
URL = "https://hub.example.com/api/webhooks/tenant/t1/w1"
SECRET = "channel-token-or-signing-secret-0123456789abcdef"


def make_request(body: bytes = b"", headers: dict[str, str] | None = None, *, method: str = "POST",
                 url: str = URL) -> InboundRequest:
    return InboundRequest(method=method, url=url, headers=headers or {}, body=body)


def test_registry_now_holds_every_scheme_the_catalog_names():
    from integrations.providers.catalog import PROVIDERS

    assert {"google_channel_token", "monday_jwt", "payplus"} <= set(SCHEMES)
    named = {p.webhook_scheme for p in PROVIDERS.values() if p.webhook_scheme}
    assert named <= set(SCHEMES)
    assert PROVIDERS["payplus"].webhook_scheme == "payplus"
    for scheme in ("google_channel_token", "monday_jwt", "payplus"):
        assert describe(scheme)


# --------------------------------------------------------------------------- google_channel_token


def google_headers(token: str = SECRET, **extra: str) -> dict[str, str]:
    return {
        "X-Goog-Channel-ID": "chan-01234",
        "X-Goog-Channel-Token": token,
        "X-Goog-Channel-Expiration": "Tue, 19 Nov 2030 01:13:52 GMT",
        "X-Goog-Resource-ID": "ret08u3rv24htgh289g",
        "X-Goog-Resource-URI": "https://www.googleapis.com/calendar/v3/calendars/primary/events",
        "X-Goog-Resource-State": "exists",
        "X-Goog-Message-Number": "10",
        **extra,
    }


def test_google_channel_token_equal_to_the_secret_passes_with_channel_and_number_as_dedupe_id():
    result = verify("google_channel_token", make_request(b"", google_headers()), [SECRET], {}, now=NOW)
    assert result == VerificationResult(True, "", "goog:chan-01234:10")


def test_google_previous_secret_still_passes_during_rotation():
    req = make_request(b"", google_headers("old-token"))
    assert verify("google_channel_token", req, [SECRET, "old-token"], {}, now=NOW).ok is True
    assert verify("google_channel_token", req, [SECRET], {}, now=NOW).ok is False


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (google_headers("wrong-token"), "channel token mismatch"),
        (google_headers(SECRET + "x"), "channel token mismatch"),
        (google_headers("\u2603\x00"), "channel token mismatch"),
        ({k: v for k, v in google_headers().items() if k != "X-Goog-Channel-Token"}, "missing Google channel headers"),
        ({k: v for k, v in google_headers().items() if k != "X-Goog-Channel-ID"}, "missing Google channel headers"),
        ({k: v for k, v in google_headers().items() if k != "X-Goog-Resource-State"}, "missing Google channel headers"),
        (google_headers(**{"X-Goog-Message-Number": "ten"}), "invalid message number"),
    ],
)
def test_google_refuses_wrong_or_missing_headers(headers, reason):
    result = verify("google_channel_token", make_request(b"", headers), [SECRET], {}, now=NOW)
    assert result == VerificationResult(False, reason, None)


def test_google_without_a_secret_fails_closed():
    req = make_request(b"", google_headers(""))
    assert verify("google_channel_token", req, [], {}, now=NOW) == VerificationResult(False, "no secret configured", None)
    assert verify("google_channel_token", req, [""], {}, now=NOW).ok is False


def test_google_sync_message_with_the_right_token_is_acknowledged_without_processing():
    sync = make_request(b"", google_headers(**{"X-Goog-Resource-State": "sync", "X-Goog-Message-Number": "1"}))
    answer = handshake("google_channel_token", sync, [SECRET], {})
    assert isinstance(answer, HandshakeResponse)
    assert (answer.status, answer.body) == (200, b"")
    # A sync message with a wrong token is no handshake: verification then refuses it
    forged = make_request(b"", google_headers("nope", **{"X-Goog-Resource-State": "sync"}))
    assert handshake("google_channel_token", forged, [SECRET], {}) is None
    assert verify("google_channel_token", forged, [SECRET], {}, now=NOW).ok is False
    # Ordinary notifications go on to verification and processing
    assert handshake("google_channel_token", make_request(b"", google_headers()), [SECRET], {}) is None


# --------------------------------------------------------------------------- monday_jwt


def monday_token(secret: str = SECRET, *, exp: int | None = NOW + 300, aud: str | None = URL, **claims) -> str:
    payload = {"accountId": 1825528, "userId": 4012689, "shortLivedToken": "slt", "iat": NOW, **claims}
    if exp is not None:
        payload["exp"] = exp
    if aud is not None:
        payload["aud"] = aud
    return jwt.encode(payload, secret, algorithm="HS256")


MONDAY_BODY = json.dumps({"event": {"type": "update_column_value", "triggerUuid": "5b7c1b3e", "pulseId": 1}}).encode()


def test_monday_jwt_signed_with_the_signing_secret_passes_and_dedupes_on_the_trigger_uuid():
    req = make_request(MONDAY_BODY, {"Authorization": monday_token()})
    assert verify("monday_jwt", req, [SECRET], {}, now=NOW) == VerificationResult(True, "", "monday:5b7c1b3e")
    # A "Bearer " prefix is tolerated
    bearer = make_request(MONDAY_BODY, {"Authorization": "Bearer " + monday_token()})
    assert verify("monday_jwt", bearer, [SECRET], {}, now=NOW).ok is True
    # The previous secret still passes during rotation
    assert verify("monday_jwt", req, ["new-secret-0123456789abcdef0123456789", SECRET], {}, now=NOW).ok is True


def test_monday_aud_may_be_the_url_without_its_query_or_absent():
    with_query = make_request(MONDAY_BODY, {"Authorization": monday_token()}, url=URL + "?x=1")
    assert verify("monday_jwt", with_query, [SECRET], {}, now=NOW).ok is True
    no_aud = make_request(MONDAY_BODY, {"Authorization": monday_token(aud=None)})
    assert verify("monday_jwt", no_aud, [SECRET], {}, now=NOW).ok is True


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (monday_token("another-secret-0123456789abcdef0123456789"), "signature mismatch"),
        (monday_token(exp=NOW - 31), "token expired"),
        (monday_token(exp=None), "token has no exp"),
        (monday_token(exp="soon"), "token has no exp"),
        (monday_token(aud="https://elsewhere.example.com/hook"), "token audience mismatch"),
        (monday_token(aud=["https://elsewhere.example.com/hook"]), "token audience mismatch"),
        (monday_token(nbf=NOW + 600), "token not yet valid"),
        (jwt.encode({"exp": NOW + 300}, SECRET * 2, algorithm="HS512"), "unsupported token algorithm"),
        ("eyJhbGciOiJub25lIn0.eyJleHAiOjk5OTk5OTk5OTl9.", "unsupported token algorithm"),
        ("not-a-jwt", "malformed token"),
        ("\u2603\x00", "malformed token"),
    ],
)
def test_monday_refuses_bad_tokens(token, reason):
    req = make_request(MONDAY_BODY, {"Authorization": token})
    assert verify("monday_jwt", req, [SECRET], {}, now=NOW) == VerificationResult(False, reason, None)


def test_monday_tolerates_30_seconds_of_clock_skew_on_exp():
    req = make_request(MONDAY_BODY, {"Authorization": monday_token(exp=NOW - 29)})
    assert verify("monday_jwt", req, [SECRET], {}, now=NOW).ok is True


def test_monday_missing_header_or_secret_fails_closed():
    assert verify("monday_jwt", make_request(MONDAY_BODY), [SECRET], {}, now=NOW) == VerificationResult(
        False, "missing Authorization header", None
    )
    req = make_request(MONDAY_BODY, {"Authorization": monday_token()})
    assert verify("monday_jwt", req, [], {}, now=NOW) == VerificationResult(False, "no secret configured", None)


def test_monday_challenge_is_echoed_as_the_same_json():
    req = make_request(b'{"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}',
                       {"Content-Type": "application/json"})
    answer = handshake("monday_jwt", req, [SECRET], {})
    assert answer is not None
    assert answer.status == 200
    assert answer.content_type.startswith("application/json")
    assert json.loads(answer.body) == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    # Events, non-JSON bodies and odd challenges are not handshakes
    for body in (MONDAY_BODY, b"not json", b'{"challenge": 5}', b'{"challenge": "x", "event": {}}', b"[]"):
        assert handshake("monday_jwt", make_request(body), [SECRET], {}) is None
    too_long = handshake("monday_jwt", make_request(json.dumps({"challenge": "x" * 5000}).encode()), [SECRET], {})
    assert too_long is not None and too_long.status == 400


# --------------------------------------------------------------------------- payplus


PAYPLUS_SECRET = "payplus-secret-key"


def payplus_hash(body: bytes, secret: str = PAYPLUS_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


PAYPLUS_BODY = json.dumps(
    {"transaction_type": "Charge", "transaction": {"uid": "c0f7", "status_code": "000", "amount": 120}},
    separators=(",", ":"),
).encode()


def test_payplus_base64_hash_of_the_raw_body_passes_and_dedupes_on_the_body():
    req = make_request(PAYPLUS_BODY, {"hash": payplus_hash(PAYPLUS_BODY), "user-agent": "PayPlus"})
    result = verify("payplus", req, [PAYPLUS_SECRET], {}, now=NOW)
    assert result == VerificationResult(True, "", "body:" + hashlib.sha256(PAYPLUS_BODY).hexdigest())


def test_payplus_hash_of_the_compact_json_passes_when_the_wire_body_was_pretty_printed():
    # PayPlus' sample hashes JSON.stringify(parsed body): compact, non-ASCII kept as is
    value = {"transaction": {"uid": "c0f7", "customer_name": "\u05d3\u05e0\u05d4"}}
    wire = json.dumps(value, indent=2).encode()  # \u-escaped and indented on the wire
    compact = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    req = make_request(wire, {"hash": payplus_hash(compact)})
    result = verify("payplus", req, [PAYPLUS_SECRET], {}, now=NOW)
    assert result == VerificationResult(True, "", "body:" + hashlib.sha256(compact).hexdigest())


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"hash": payplus_hash(PAYPLUS_BODY, "other")}, "signature mismatch"),
        ({"hash": payplus_hash(PAYPLUS_BODY + b" ")[:-2]}, "malformed signature"),
        ({"hash": hmac.new(PAYPLUS_SECRET.encode(), PAYPLUS_BODY, hashlib.sha256).hexdigest()}, "signature mismatch"),
        ({}, "missing hash header"),
    ],
)
def test_payplus_refuses_wrong_or_missing_hash(headers, reason):
    assert verify("payplus", make_request(PAYPLUS_BODY, headers), [PAYPLUS_SECRET], {}, now=NOW) == VerificationResult(
        False, reason, None
    )


def test_payplus_tampered_body_fails():
    tampered = PAYPLUS_BODY.replace(b"120", b"1")
    req = make_request(tampered, {"hash": payplus_hash(PAYPLUS_BODY)})
    assert verify("payplus", req, [PAYPLUS_SECRET], {}, now=NOW).ok is False


# --------------------------------------------------------------------------- hmac dedupe


def hex_sig(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_hmac_hex_signature_dedupes_on_the_body_hash_not_on_unsigned_id_headers():
    body = b'{"title": "Site visit"}'
    expected = "body:" + hashlib.sha256(body).hexdigest()
    first = make_request(body, {"X-Webhook-Signature": hex_sig(SECRET, body), "X-Request-Id": "req-1"})
    replay = make_request(body, {"X-Webhook-Signature": hex_sig(SECRET, body), "X-Request-Id": "req-2"})
    assert verify("hmac", first, [SECRET], {}, now=NOW) == VerificationResult(True, "", expected)
    # A replay that changes the (unsigned) id header has the same dedupe id
    assert verify("hmac", replay, [SECRET], {}, now=NOW).dedupe_id == expected
    other = make_request(b'{"title": "Other"}', {"X-Webhook-Signature": hex_sig(SECRET, b'{"title": "Other"}')})
    assert verify("hmac", other, [SECRET], {}, now=NOW).dedupe_id != expected
