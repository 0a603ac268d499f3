"""Tests for webhooks.verification: every scheme, the handshakes, and failure hygiene.

Long on purpose: a dozen schemes, each with its valid, tampered, stale and hostile cases.

Signatures are produced with the providers' own SDKs where one exists (stripe,
twilio, standardwebhooks, sendgrid's verifier as a cross-check), with
published vectors, or independently with hashlib/hmac in the test.
Pure tests: no Django, no database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe
import time_machine
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from twilio.request_validator import RequestValidator

from tests.support.webhooks import VECTOR_A, VECTOR_B
from webhooks.signing import generate_whsec, standard_headers
from webhooks.verification import (
    SCHEMES,
    VERIFIERS,
    HandshakeResponse,
    InboundRequest,
    VerificationResult,
    describe,
    get_header,
    handshake,
    parse_form_body,
    verify,
)

NOW = 1_700_000_000
URL = "https://hub.example.com/api/webhooks/tenant/t1/w1"
SECRET = "s3cr3t-value-for-tests"


def make_request(
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    method: str = "POST",
    url: str = URL,
    query: dict[str, str] | None = None,
    form: dict[str, str | list[str]] | None = None,
) -> InboundRequest:
    return InboundRequest(
        method=method,
        url=url,
        headers=headers or {},
        body=body,
        query=query or {},
        form=form or {},
    )


def hex_sig(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def b64_sig(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


# ---------------------------------------------------------------------------
# Registry, helpers
# ---------------------------------------------------------------------------


def test_schemes_registry_lists_every_scheme_in_order():
    assert SCHEMES == (
        "hmac",
        "standard",
        "stripe",
        "twilio",
        "meta",
        "dropbox",
        "graph",
        "hubspot",
        "xero",
        "quickbooks",
        "sendgrid",
        "google_channel_token",
        "monday_jwt",
        "payplus",
        "none",
    )
    assert tuple(VERIFIERS) == SCHEMES


@pytest.mark.parametrize("scheme", SCHEMES)
def test_describe_gives_a_one_line_description(scheme):
    text = describe(scheme)
    assert text
    assert "\n" not in text
    assert len(text) < 120


def test_unknown_scheme_raises_value_error_everywhere():
    req = make_request(b"{}")
    with pytest.raises(ValueError):
        verify("github", req, [SECRET], {})
    with pytest.raises(ValueError):
        handshake("github", req, [SECRET], {})
    with pytest.raises(ValueError):
        describe("github")


def test_get_header_is_case_insensitive():
    headers = {"X-Webhook-Signature": "abc", "content-type": "application/json"}
    assert get_header(headers, "x-webhook-signature") == "abc"
    assert get_header(headers, "Content-Type") == "application/json"
    assert get_header(headers, "X-Missing") is None
    assert make_request(headers=headers).header("X-WEBHOOK-SIGNATURE") == "abc"


def test_parse_form_body_keeps_blanks_and_repeated_keys():
    assert parse_form_body(b"a=1&b=&c=x&c=y&d=%2B1+2") == {"a": "1", "b": "", "c": ["x", "y"], "d": "+1 2"}
    assert parse_form_body(b"\xff\xfe") == {}


# ---------------------------------------------------------------------------
# hmac (seed scheme, contract C6)
# ---------------------------------------------------------------------------


def test_hmac_accepts_hex_hmac_of_raw_body():
    # Given a body signed with hex HMAC-SHA256 of the secret string
    body = b'{"title": "Site visit", "n": 1}'
    req = make_request(body, {"X-Webhook-Signature": hex_sig(SECRET, body), "X-Webhook-Delivery": "dlv_1"})
    # When verifying
    result = verify("hmac", req, [SECRET], {}, now=NOW)
    # Then it passes; the delivery id header is not signed, so the body's hash is the dedupe id
    assert result == VerificationResult(ok=True, reason="", dedupe_id="body:" + hashlib.sha256(body).hexdigest())


@pytest.mark.parametrize("transform", [lambda s: "sha256=" + s, str.upper, lambda s: "SHA256=" + s.upper()])
def test_hmac_accepts_sha256_prefix_and_any_hex_case(transform):
    body = b"{}"
    req = make_request(body, {"x-webhook-signature": transform(hex_sig(SECRET, body))})
    assert verify("hmac", req, [SECRET], {}, now=NOW).ok is True


def test_hmac_rejects_wrong_signature_and_missing_header():
    body = b'{"a":1}'
    wrong = make_request(body, {"X-Webhook-Signature": hex_sig("other", body)})
    tampered = make_request(b'{"a":2}', {"X-Webhook-Signature": hex_sig(SECRET, body)})
    missing = make_request(body, {})
    assert verify("hmac", wrong, [SECRET], {}, now=NOW) == VerificationResult(
        False, "signature mismatch", None
    )
    assert verify("hmac", tampered, [SECRET], {}, now=NOW) == VerificationResult(
        False, "signature mismatch", None
    )
    assert verify("hmac", missing, [SECRET], {}, now=NOW) == VerificationResult(
        False, "missing signature header", None
    )
    assert verify(
        "hmac", make_request(body, {"X-Webhook-Signature": "sha256="}), [SECRET], {}, now=NOW
    ).reason == ("empty signature")


def test_hmac_accepts_previous_secret_during_rotation():
    body = b'{"rotated": true}'
    req = make_request(body, {"X-Webhook-Signature": hex_sig("old-secret", body)})
    assert verify("hmac", req, ["new-secret", "old-secret"], {}, now=NOW).ok is True
    assert verify("hmac", req, ["new-secret"], {}, now=NOW).ok is False


def test_hmac_honours_configured_signature_header():
    body = b"{}"
    req = make_request(body, {"X-Custom-Sig": hex_sig(SECRET, body)})
    assert verify("hmac", req, [SECRET], {"signatureHeader": "X-Custom-Sig"}, now=NOW).ok is True
    assert verify("hmac", req, [SECRET], {}, now=NOW).reason == "missing signature header"


def test_hmac_also_accepts_standard_webhooks_headers():
    # Given a sender using the standardwebhooks library with our generated secret
    secret = generate_whsec()
    body = '{"event":"meeting.created"}'
    signature = Webhook(secret).sign("msg_abc", datetime.fromtimestamp(NOW, tz=UTC), body)
    headers = {"webhook-id": "msg_abc", "webhook-timestamp": str(NOW), "webhook-signature": signature}
    # When verifying with the hmac scheme
    result = verify("hmac", make_request(body.encode(), headers), [secret], {}, now=NOW)
    # Then it passes with the webhook-id as dedupe id
    assert result == VerificationResult(True, "", "msg_abc")
    # And the 5-minute window still applies
    stale = verify("hmac", make_request(body.encode(), headers), [secret], {}, now=NOW + 301)
    assert stale == VerificationResult(False, "timestamp too old", None)


def test_hmac_passes_when_either_signature_form_is_valid():
    secret = generate_whsec()
    body = b'{"x":1}'
    headers = standard_headers([secret], "msg_1", NOW, body)
    headers["X-Webhook-Signature"] = "0" * 64  # wrong hex, but the Standard signature is right
    assert verify("hmac", make_request(body, headers), [secret], {}, now=NOW).ok is True


def test_hmac_with_no_usable_secret_fails_closed():
    body = b"{}"
    req = make_request(body, {"X-Webhook-Signature": hex_sig("", body)})
    assert verify("hmac", req, [], {}, now=NOW) == VerificationResult(False, "no secret configured", None)
    assert verify("hmac", req, [""], {}, now=NOW) == VerificationResult(False, "no secret configured", None)


def test_hmac_non_ascii_signature_does_not_raise():
    req = make_request(b"{}", {"X-Webhook-Signature": "sha256=ééé\u2603"})
    assert verify("hmac", req, [SECRET], {}, now=NOW) == VerificationResult(False, "signature mismatch", None)


# ---------------------------------------------------------------------------
# standard (Standard Webhooks)
# ---------------------------------------------------------------------------

VEC_A_SECRET = VECTOR_A["secret"]
VEC_A_ID = VECTOR_A["msg_id"]
VEC_A_TS = VECTOR_A["timestamp"]
VEC_A_BODY = VECTOR_A["body"]
VEC_A_SIG = VECTOR_A["expected"]

VEC_B_SECRET = VECTOR_B["secret"]
VEC_B_ID = VECTOR_B["msg_id"]
VEC_B_TS = VECTOR_B["timestamp"]
VEC_B_BODY = VECTOR_B["body"]
VEC_B_SIG = VECTOR_B["expected"]


def vec_a_request(signature: str = VEC_A_SIG, timestamp: str = str(VEC_A_TS), **extra: str) -> InboundRequest:
    headers = {
        "webhook-id": VEC_A_ID,
        "webhook-timestamp": timestamp,
        "webhook-signature": signature,
        **extra,
    }
    return make_request(VEC_A_BODY, headers)


def test_standard_accepts_published_vector_a():
    result = verify("standard", vec_a_request(), [VEC_A_SECRET], {}, now=VEC_A_TS)
    assert result == VerificationResult(True, "", VEC_A_ID)


def test_standard_accepts_published_vector_b():
    headers = {"Webhook-Id": VEC_B_ID, "Webhook-Timestamp": str(VEC_B_TS), "Webhook-Signature": VEC_B_SIG}
    result = verify("standard", make_request(VEC_B_BODY, headers), [VEC_B_SECRET], {}, now=VEC_B_TS)
    assert result == VerificationResult(True, "", VEC_B_ID)


def test_standard_rejects_vector_a_with_last_char_changed():
    req = vec_a_request("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=")
    assert verify("standard", req, [VEC_A_SECRET], {}, now=VEC_A_TS) == VerificationResult(
        False, "signature mismatch", None
    )


def test_standard_multi_signature_header_with_one_valid_entry_passes():
    header = (
        "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
        + VEC_A_SIG
        + " v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
    )
    assert verify("standard", vec_a_request(header), [VEC_A_SECRET], {}, now=VEC_A_TS).ok is True


@pytest.mark.parametrize(
    "header",
    [
        "v1,",
        "v1",
        "v2," + VEC_A_SIG[3:],  # valid bytes under a non-v1 version are ignored
        "v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU=",
        "v1,not base64!",
        "   ",
    ],
)
def test_standard_rejects_partial_unknown_version_and_garbage_signatures(header):
    result = verify("standard", vec_a_request(header), [VEC_A_SECRET], {}, now=VEC_A_TS)
    assert result.ok is False
    assert result.reason in {"signature mismatch", "missing Standard Webhooks headers"}


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (-300, VerificationResult(True, "", VEC_A_ID)),
        (300, VerificationResult(True, "", VEC_A_ID)),
        (301, VerificationResult(False, "timestamp too old", None)),
        (-301, VerificationResult(False, "timestamp too new", None)),
    ],
)
def test_standard_timestamp_tolerance_is_five_minutes_both_ways(offset, expected):
    assert verify("standard", vec_a_request(), [VEC_A_SECRET], {}, now=VEC_A_TS + offset) == expected


def test_standard_uses_the_real_clock_when_now_is_not_given():
    with time_machine.travel(VEC_A_TS + 10, tick=False):
        assert verify("standard", vec_a_request(), [VEC_A_SECRET], {}).ok is True
    with time_machine.travel(VEC_A_TS + 3600, tick=False):
        assert verify("standard", vec_a_request(), [VEC_A_SECRET], {}).reason == "timestamp too old"


@pytest.mark.parametrize("timestamp", ["abc", "", "1614265330.5", "-1614265330", "1e9", "١٦١٤٢٦٥٣٣٠"])
def test_standard_rejects_malformed_timestamps(timestamp):
    result = verify("standard", vec_a_request(timestamp=timestamp), [VEC_A_SECRET], {}, now=VEC_A_TS)
    assert result.ok is False
    assert result.reason in {"invalid timestamp", "missing Standard Webhooks headers"}


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_standard_rejects_missing_headers(missing):
    req = vec_a_request()
    headers = {k: v for k, v in req.headers.items() if k != missing}
    result = verify("standard", make_request(VEC_A_BODY, headers), [VEC_A_SECRET], {}, now=VEC_A_TS)
    assert result == VerificationResult(False, "missing Standard Webhooks headers", None)


def test_standard_accepts_previous_secret_in_rotation():
    assert verify("standard", vec_a_request(), [generate_whsec(), VEC_A_SECRET], {}, now=VEC_A_TS).ok is True


@pytest.mark.parametrize(
    ("signature", "body"),
    [
        (VEC_A_SIG, VEC_A_BODY),
        ("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=", VEC_A_BODY),
        (VEC_A_SIG, b'{"test": 2432232315}'),
        ("v2,abc " + VEC_A_SIG, VEC_A_BODY),
    ],
)
def test_standard_agrees_with_the_standardwebhooks_library(signature, body):
    # Given the same request presented to the reference library and to us
    headers = {"webhook-id": VEC_A_ID, "webhook-timestamp": str(VEC_A_TS), "webhook-signature": signature}
    with time_machine.travel(VEC_A_TS, tick=False):
        try:
            Webhook(VEC_A_SECRET).verify(body, headers)
            library_ok = True
        except WebhookVerificationError:
            library_ok = False
        # When we verify with the real (frozen) clock
        ours = verify("standard", make_request(body, headers), [VEC_A_SECRET], {})
    # Then both reach the same decision
    assert ours.ok is library_ok


def test_standard_secret_without_prefix_is_used_as_raw_bytes():
    # Given a non-whsec secret (documented fallback: its UTF-8 bytes are the key)
    secret = "plain-shared-secret"
    content = f"msg_1.{NOW}.".encode() + b"{}"
    signature = "v1," + base64.b64encode(hmac.new(secret.encode(), content, hashlib.sha256).digest()).decode()
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(NOW), "webhook-signature": signature}
    assert verify("standard", make_request(b"{}", headers), [secret], {}, now=NOW).ok is True


def test_standard_tolerance_can_be_configured():
    req = vec_a_request()
    assert verify("standard", req, [VEC_A_SECRET], {"toleranceSeconds": 60}, now=VEC_A_TS + 61).ok is False
    assert verify("standard", req, [VEC_A_SECRET], {"toleranceSeconds": 60}, now=VEC_A_TS + 60).ok is True


# ---------------------------------------------------------------------------
# stripe
# ---------------------------------------------------------------------------

STRIPE_SECRET = "whsec_test_1234567890abcdef"
STRIPE_BODY = '{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"payment_intent.succeeded","data":{"object":{}}}'


def stripe_header(body: str = STRIPE_BODY, secret: str = STRIPE_SECRET, timestamp: int = NOW) -> str:
    return stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)


def stripe_library_accepts(body: str, header: str, secret: str, at: int) -> bool:
    with time_machine.travel(at, tick=False):
        try:
            stripe.Webhook.construct_event(body, header, secret)
        except stripe.SignatureVerificationError:
            return False
    return True


def test_stripe_accepts_header_generated_by_stripe_sdk():
    # Given a Stripe-Signature header made by the stripe SDK
    header = stripe_header()
    req = make_request(STRIPE_BODY.encode(), {"Stripe-Signature": header})
    # When verifying
    result = verify("stripe", req, [STRIPE_SECRET], {}, now=NOW + 5)
    # Then it passes, dedupe is the event id, and the SDK agrees in reverse
    assert result == VerificationResult(True, "", "evt_1NG8Du2eZvKYlo2CUI79vXWy")
    assert stripe_library_accepts(STRIPE_BODY, header, STRIPE_SECRET, NOW + 5) is True


def test_stripe_key_is_the_whsec_string_itself_not_base64_decoded():
    signed = f"{NOW}.".encode() + STRIPE_BODY.encode()
    header = f"t={NOW},v1={hex_sig(STRIPE_SECRET, signed)}"
    assert header == stripe_header()
    assert verify(
        "stripe",
        make_request(signed[len(f"{NOW}.") :], {"stripe-signature": header}),
        [STRIPE_SECRET],
        {},
        now=NOW,
    ).ok


def test_stripe_accepts_any_of_several_v1_signatures():
    good = stripe_header().split(",")[1]
    header = f"t={NOW},v1={'a' * 64},{good},v0=ignored"
    req = make_request(STRIPE_BODY.encode(), {"Stripe-Signature": header})
    assert verify("stripe", req, [STRIPE_SECRET], {}, now=NOW).ok is True
    assert stripe_library_accepts(STRIPE_BODY, header, STRIPE_SECRET, NOW) is True


def test_stripe_accepts_previous_secret():
    header = stripe_header(secret="whsec_old")
    req = make_request(STRIPE_BODY.encode(), {"Stripe-Signature": header})
    assert verify("stripe", req, [STRIPE_SECRET, "whsec_old"], {}, now=NOW).ok is True


@pytest.mark.parametrize(
    ("body", "header_secret", "at", "reason"),
    [
        (STRIPE_BODY.replace("succeeded", "failed"), STRIPE_SECRET, NOW, "signature mismatch"),
        (STRIPE_BODY, "whsec_someone_else", NOW, "signature mismatch"),
        (STRIPE_BODY, STRIPE_SECRET, NOW + 301, "timestamp too old"),
    ],
)
def test_stripe_rejects_tampered_foreign_and_stale_requests_like_the_sdk(body, header_secret, at, reason):
    header = stripe_header(secret=header_secret)
    result = verify(
        "stripe", make_request(body.encode(), {"Stripe-Signature": header}), [STRIPE_SECRET], {}, now=at
    )
    assert result == VerificationResult(False, reason, None)
    assert stripe_library_accepts(body, header, STRIPE_SECRET, at) is False


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("garbage", "invalid timestamp"),
        ("t=abc,v1=00", "invalid timestamp"),
        (f"t={NOW},t={NOW},v1=00", "invalid timestamp"),
        (f"t={NOW}", "no v1 signature"),
        (f"t={NOW},v1=", "no v1 signature"),
        (f"t={NOW},v1=zz\u00e9", "signature mismatch"),
    ],
)
def test_stripe_malformed_headers_fail_with_a_reason(header, reason):
    result = verify(
        "stripe",
        make_request(STRIPE_BODY.encode(), {"Stripe-Signature": header}),
        [STRIPE_SECRET],
        {},
        now=NOW,
    )
    assert result == VerificationResult(False, reason, None)


def test_stripe_missing_header():
    result = verify("stripe", make_request(STRIPE_BODY.encode()), [STRIPE_SECRET], {}, now=NOW)
    assert result == VerificationResult(False, "missing Stripe-Signature header", None)


# ---------------------------------------------------------------------------
# twilio
# ---------------------------------------------------------------------------

TWILIO_TOKEN = "12345"
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
TWILIO_JSON_BODY = '{"property": "value", "boolean": true}'


class MultiDict:
    """Minimal Django-QueryDict-like mapping so Twilio's SDK can sign repeated keys."""

    def __init__(self, data: dict[str, list[str]]) -> None:
        self.data = data

    def __iter__(self):
        return iter(self.data)

    def getlist(self, key: str) -> list[str]:
        return self.data[key]


def test_twilio_published_form_vector_passes():
    # Given Twilio's published example (and the SDK computing the same value)
    signature = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert RequestValidator(TWILIO_TOKEN).compute_signature(TWILIO_URL, TWILIO_PARAMS) == signature
    req = make_request(url=TWILIO_URL, headers={"X-Twilio-Signature": signature}, form=dict(TWILIO_PARAMS))
    # When verifying
    result = verify("twilio", req, [TWILIO_TOKEN], {}, now=NOW)
    # Then it passes
    assert result == VerificationResult(True, "", None)


def test_twilio_parses_form_body_when_form_not_given_and_uses_idempotency_token():
    body = "&".join(f"{k}={v}" for k, v in TWILIO_PARAMS.items()).replace("+", "%2B").encode()
    headers = {
        "X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "I-Twilio-Idempotency-Token": "idem-42",
    }
    result = verify("twilio", make_request(body, headers, url=TWILIO_URL), [TWILIO_TOKEN], {}, now=NOW)
    assert result == VerificationResult(True, "", "idem-42")


def test_twilio_published_json_vector_with_body_sha256_passes():
    # Given Twilio's published JSON example: the body hash travels in the URL
    validator = RequestValidator(TWILIO_TOKEN)
    body_hash = validator.compute_hash(TWILIO_JSON_BODY)
    assert body_hash == "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    url = TWILIO_URL + "&bodySHA256=" + body_hash
    signature = validator.compute_signature(url, {})
    assert signature == "a9nBmqA0ju/hNViExpshrM61xv4="
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/json"}
    # When verifying the exact body, then a modified one
    good = verify(
        "twilio", make_request(TWILIO_JSON_BODY.encode(), headers, url=url), [TWILIO_TOKEN], {}, now=NOW
    )
    bad = verify(
        "twilio", make_request(b'{"property": "other"}', headers, url=url), [TWILIO_TOKEN], {}, now=NOW
    )
    # Then only the exact body passes
    assert good.ok is True
    assert bad == VerificationResult(False, "body hash mismatch", None)
    assert validator.validate(url, TWILIO_JSON_BODY, signature) is True
    assert validator.validate(url, '{"property": "other"}', signature) is False


def test_twilio_accepts_signature_computed_over_url_with_default_port():
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        "https://mycompany.com:443/myapp.php?foo=1&bar=2", TWILIO_PARAMS
    )
    req = make_request(url=TWILIO_URL, headers={"X-Twilio-Signature": signature}, form=dict(TWILIO_PARAMS))
    assert verify("twilio", req, [TWILIO_TOKEN], {}, now=NOW).ok is True


def test_twilio_repeated_form_values_are_sorted_like_the_sdk():
    params = {"To": ["+2", "+1"], "Body": ["hi"]}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(URL, MultiDict(params))
    req = make_request(
        url=URL, headers={"X-Twilio-Signature": signature}, form={"To": ["+2", "+1"], "Body": "hi"}
    )
    assert verify("twilio", req, [TWILIO_TOKEN], {}, now=NOW).ok is True


@pytest.mark.parametrize(
    ("form", "url"),
    [
        ({**TWILIO_PARAMS, "Digits": "9999"}, TWILIO_URL),
        ({**TWILIO_PARAMS, "Extra": "1"}, TWILIO_URL),
        (TWILIO_PARAMS, "https://mycompany.com/myapp.php?foo=1&bar=3"),
        (TWILIO_PARAMS, "http://mycompany.com/myapp.php?foo=1&bar=2"),
    ],
)
def test_twilio_rejects_changed_params_or_url_like_the_sdk(form, url):
    signature = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    req = make_request(url=url, headers={"X-Twilio-Signature": signature}, form=dict(form))
    assert verify("twilio", req, [TWILIO_TOKEN], {}, now=NOW) == VerificationResult(
        False, "signature mismatch", None
    )
    assert RequestValidator(TWILIO_TOKEN).validate(url, dict(form), signature) is False


def test_twilio_hmac_sha256_shared_key_signatures():
    # Given a request signed by a Webhooks Rule with HMAC_SHA256
    signature = RequestValidator("shared-key-secret").compute_signature(
        TWILIO_URL, TWILIO_PARAMS, "HMAC_SHA256"
    )
    settings = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    headers = {"X-Twilio-Signature": signature, "X-Twilio-Webhooks-Signature-Settings": settings}
    req = make_request(url=TWILIO_URL, headers=headers, form=dict(TWILIO_PARAMS))
    # Then it passes with the shared key, and an unknown algorithm fails closed
    assert verify("twilio", req, ["shared-key-secret"], {}, now=NOW).ok is True
    headers["X-Twilio-Webhooks-Signature-Settings"] = "key=k,algorithm=HMAC_MD5"
    req = make_request(url=TWILIO_URL, headers=headers, form=dict(TWILIO_PARAMS))
    assert verify("twilio", req, ["shared-key-secret"], {}, now=NOW) == VerificationResult(
        False, "unsupported signature algorithm", None
    )


def test_twilio_missing_or_malformed_signature():
    req = make_request(url=TWILIO_URL, form=dict(TWILIO_PARAMS))
    assert verify("twilio", req, [TWILIO_TOKEN], {}, now=NOW).reason == "missing X-Twilio-Signature header"
    req = make_request(url=TWILIO_URL, headers={"X-Twilio-Signature": "%%%"}, form=dict(TWILIO_PARAMS))
    assert verify("twilio", req, [TWILIO_TOKEN], {}, now=NOW).reason == "malformed signature"


# ---------------------------------------------------------------------------
# meta (WhatsApp)
# ---------------------------------------------------------------------------

META_BODY = b'{"object":"whatsapp_business_account","entry":[{"id":"123","changes":[]}]}'


def test_meta_accepts_x_hub_signature_256():
    req = make_request(META_BODY, {"X-Hub-Signature-256": "sha256=" + hex_sig("app-secret", META_BODY)})
    assert verify("meta", req, ["app-secret"], {}, now=NOW) == VerificationResult(True, "", None)


def test_meta_rejects_wrong_or_missing_signature():
    wrong = make_request(META_BODY, {"X-Hub-Signature-256": "sha256=" + hex_sig("other", META_BODY)})
    assert verify("meta", wrong, ["app-secret"], {}, now=NOW) == VerificationResult(
        False, "signature mismatch", None
    )
    assert verify("meta", make_request(META_BODY), ["app-secret"], {}, now=NOW) == VerificationResult(
        False, "missing X-Hub-Signature-256 header", None
    )


def test_meta_handshake_echoes_challenge_when_verify_token_matches():
    # Given Meta's subscription GET
    query = {"hub.mode": "subscribe", "hub.verify_token": "my-verify-token", "hub.challenge": "1158201444"}
    req = make_request(method="GET", query=query)
    # When handling the handshake
    response = handshake("meta", req, ["app-secret"], {"verifyToken": "my-verify-token"})
    # Then the challenge is echoed as text/plain
    assert response == HandshakeResponse(
        200, b"1158201444", "text/plain; charset=utf-8", {"X-Content-Type-Options": "nosniff"}
    )


def test_meta_handshake_reads_the_query_from_the_url_when_query_is_empty():
    url = URL + "?hub.mode=subscribe&hub.verify_token=tok%20en&hub.challenge=abc"
    response = handshake("meta", make_request(method="GET", url=url), [], {"verifyToken": "tok en"})
    assert response is not None
    assert (response.status, response.body) == (200, b"abc")


@pytest.mark.parametrize(
    ("query", "config"),
    [
        (
            {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
            {"verifyToken": "right"},
        ),
        (
            {"hub.mode": "unsubscribe", "hub.verify_token": "right", "hub.challenge": "1"},
            {"verifyToken": "right"},
        ),
        ({"hub.mode": "subscribe", "hub.verify_token": "right"}, {"verifyToken": "right"}),
        ({"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}, {"verifyToken": ""}),
        ({"hub.mode": "subscribe", "hub.verify_token": "right", "hub.challenge": "1"}, {}),
    ],
)
def test_meta_handshake_refuses_with_403(query, config):
    response = handshake("meta", make_request(method="GET", query=query), ["right"], config)
    assert response is not None
    assert response.status == 403
    assert b"right" not in response.body


def test_meta_handshake_ignores_posts_and_plain_gets():
    assert handshake("meta", make_request(META_BODY), [], {"verifyToken": "t"}) is None
    assert handshake("meta", make_request(method="GET"), [], {"verifyToken": "t"}) is None


# ---------------------------------------------------------------------------
# dropbox
# ---------------------------------------------------------------------------


def test_dropbox_accepts_published_example_signature():
    body = b'{"delta": {"users": [12345]}}'
    signature = "0a8c16b085420b960dc78664279fe09e936a2a01b1f91064869d9e77dfd64529"
    assert verify(
        "dropbox", make_request(body, {"X-Dropbox-Signature": signature}), ["the_secret"], {}, now=NOW
    ).ok
    assert verify(
        "dropbox", make_request(body, {"X-Dropbox-Signature": signature}), ["other"], {}, now=NOW
    ) == (VerificationResult(False, "signature mismatch", None))


def test_dropbox_handshake_echoes_challenge_with_nosniff():
    response = handshake("dropbox", make_request(method="GET", query={"challenge": "ch4ll3nge"}), [], {})
    assert response == HandshakeResponse(
        200, b"ch4ll3nge", "text/plain; charset=utf-8", {"X-Content-Type-Options": "nosniff"}
    )
    assert handshake("dropbox", make_request(method="GET"), [], {}) is None
    assert handshake("dropbox", make_request(b"{}", query={"challenge": "x"}), [], {}) is None


def test_handshake_refuses_absurdly_long_challenge():
    response = handshake("dropbox", make_request(method="GET", query={"challenge": "x" * 5000}), [], {})
    assert response is not None
    assert response.status == 400


# ---------------------------------------------------------------------------
# graph (Microsoft)
# ---------------------------------------------------------------------------


def graph_body(*states: Any) -> bytes:
    items = [
        {"subscriptionId": "sub-1", "changeType": "updated", "resource": "me/events/1", "clientState": state}
        for state in states
    ]
    return json.dumps({"value": items}).encode()


def test_graph_accepts_when_every_item_carries_client_state():
    body = graph_body("state-123", "state-123")
    assert verify(
        "graph", make_request(body), [], {"clientState": "state-123"}, now=NOW
    ) == VerificationResult(True, "", None)


def test_graph_accepts_secret_as_client_state():
    assert verify("graph", make_request(graph_body(SECRET)), [SECRET], {}, now=NOW).ok is True


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (graph_body("state-123", "forged"), "clientState mismatch"),
        (graph_body("state-123", None), "missing clientState"),
        (b'{"value": []}', "no notifications in body"),
        (b'{"value": ["x"]}', "malformed notification"),
        (b"[1, 2]", "body is not a JSON object"),
        (b"not json", "body is not a JSON object"),
        (b"\xff\xfe", "body is not a JSON object"),
    ],
)
def test_graph_rejects_bad_notifications(body, reason):
    assert verify(
        "graph", make_request(body), [], {"clientState": "state-123"}, now=NOW
    ) == VerificationResult(False, reason, None)


def test_graph_without_any_expected_client_state_fails_closed():
    assert (
        verify("graph", make_request(graph_body("x")), [], {}, now=NOW).reason == "no clientState configured"
    )


def test_graph_handshake_echoes_url_decoded_validation_token():
    # Given Graph's validation POST (token URL-encoded in the query string)
    url = URL + "?validationToken=Validation%3A+Testing+client+application+reachability%21"
    # When handling it, with and without a pre-parsed query
    from_url = handshake("graph", make_request(url=url), [], {})
    from_query = handshake(
        "graph",
        make_request(
            method="GET", query={"validationToken": "Validation: Testing client application reachability!"}
        ),
        [],
        {},
    )
    # Then the decoded token is echoed as text/plain
    expected = HandshakeResponse(
        200,
        b"Validation: Testing client application reachability!",
        "text/plain; charset=utf-8",
        {"X-Content-Type-Options": "nosniff"},
    )
    assert from_url == expected
    assert from_query == expected
    assert handshake("graph", make_request(graph_body("x")), [], {}) is None


# ---------------------------------------------------------------------------
# hubspot
# ---------------------------------------------------------------------------

HUBSPOT_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
HUBSPOT_BODY = b"{'example_field':'example_value'}"
HUBSPOT_URL = "https://www.example.com/webhook_uri"
HUBSPOT_TS = "15000000"  # milliseconds
HUBSPOT_SIG = "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="


def hubspot_request(
    body: bytes = HUBSPOT_BODY, url: str = HUBSPOT_URL, signature: str = HUBSPOT_SIG, method: str = "POST"
):
    headers = {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": HUBSPOT_TS}
    return make_request(body, headers, url=url, method=method)


def test_hubspot_published_v3_vector_passes():
    result = verify("hubspot", hubspot_request(), [HUBSPOT_SECRET], {}, now=15000 + 60)
    assert result == VerificationResult(True, "", None)


def test_hubspot_rejects_requests_older_than_five_minutes():
    assert verify("hubspot", hubspot_request(), [HUBSPOT_SECRET], {}, now=15000 + 300).ok is True
    assert verify("hubspot", hubspot_request(), [HUBSPOT_SECRET], {}, now=15000 + 301) == VerificationResult(
        False, "timestamp too old", None
    )


@pytest.mark.parametrize(
    "req",
    [
        hubspot_request(method="PUT"),
        hubspot_request(url=HUBSPOT_URL + "?x=1"),
        hubspot_request(body=HUBSPOT_BODY + b" "),
    ],
)
def test_hubspot_signature_covers_method_uri_and_body(req):
    assert verify("hubspot", req, [HUBSPOT_SECRET], {}, now=15000) == VerificationResult(
        False, "signature mismatch", None
    )


def test_hubspot_accepts_uri_signed_with_decoded_reserved_characters():
    # Given HubSpot signed the URI after decoding %3A and %2C
    url = URL + "?filter=a%3Ab%2Cc"
    body = json.dumps([{"eventId": 100, "subscriptionType": "contact.creation"}]).encode()
    signed = b"POST" + (URL + "?filter=a:b,c").encode() + body + HUBSPOT_TS.encode()
    signature = base64.b64encode(hmac.new(b"client-secret", signed, hashlib.sha256).digest()).decode()
    # When verifying with the URL as received
    result = verify("hubspot", hubspot_request(body, url, signature), ["client-secret"], {}, now=15000)
    # Then it passes, deduped on the event id
    assert result == VerificationResult(True, "", "100")


def test_hubspot_batch_dedupe_id_is_stable_hash_of_event_ids():
    body = json.dumps([{"eventId": 1}, {"eventId": 2}]).encode()
    signed = b"POST" + URL.encode() + body + HUBSPOT_TS.encode()
    signature = base64.b64encode(hmac.new(b"client-secret", signed, hashlib.sha256).digest()).decode()
    result = verify("hubspot", hubspot_request(body, URL, signature), ["client-secret"], {}, now=15000)
    assert result == VerificationResult(True, "", "batch:" + hashlib.sha256(b"1,2").hexdigest())


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing HubSpot signature headers"),
        ({"X-HubSpot-Signature-v3": HUBSPOT_SIG}, "missing HubSpot signature headers"),
        ({"X-HubSpot-Signature-v3": HUBSPOT_SIG, "X-HubSpot-Request-Timestamp": "soon"}, "invalid timestamp"),
        ({"X-HubSpot-Signature-v3": "***", "X-HubSpot-Request-Timestamp": HUBSPOT_TS}, "malformed signature"),
    ],
)
def test_hubspot_malformed_headers(headers, reason):
    req = make_request(HUBSPOT_BODY, headers, url=HUBSPOT_URL)
    assert verify("hubspot", req, [HUBSPOT_SECRET], {}, now=15000) == VerificationResult(False, reason, None)


# ---------------------------------------------------------------------------
# xero, quickbooks
# ---------------------------------------------------------------------------

XERO_ITR_BODY = b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}'


def test_xero_intent_to_receive_good_signature_passes_and_bad_one_fails():
    # Given Xero's intent-to-receive pair: one correctly signed, one not
    good = make_request(XERO_ITR_BODY, {"x-xero-signature": b64_sig("webhook-key", XERO_ITR_BODY)})
    bad = make_request(XERO_ITR_BODY, {"x-xero-signature": b64_sig("wrong-key", XERO_ITR_BODY)})
    # Then ok -> the endpoint answers 2xx, not ok -> 401
    assert verify("xero", good, ["webhook-key"], {}, now=NOW) == VerificationResult(True, "", None)
    assert verify("xero", bad, ["webhook-key"], {}, now=NOW) == VerificationResult(
        False, "signature mismatch", None
    )
    assert verify("xero", make_request(XERO_ITR_BODY), ["webhook-key"], {}, now=NOW).reason == (
        "missing x-xero-signature header"
    )


def test_quickbooks_accepts_intuit_signature_and_dedupes_on_cloudevent_id():
    body = json.dumps(
        [
            {
                "specversion": "1.0",
                "id": "88cd52a7-1c2a-4b3c",
                "type": "qbo.customer.created.v1",
                "source": "intuit",
            }
        ]
    ).encode()
    req = make_request(body, {"intuit-signature": b64_sig("verifier-token", body)})
    assert verify("quickbooks", req, ["verifier-token"], {}, now=NOW) == VerificationResult(
        True, "", "88cd52a7-1c2a-4b3c"
    )
    req = make_request(body, {"intuit-signature": "bm90IGl0"})
    assert verify("quickbooks", req, ["verifier-token"], {}, now=NOW) == VerificationResult(
        False, "signature mismatch", None
    )


# ---------------------------------------------------------------------------
# sendgrid (ECDSA)
# ---------------------------------------------------------------------------

SENDGRID_BODY = (
    json.dumps(
        [{"email": "a@example.com", "event": "delivered", "sg_event_id": "sg-ev-1"}], separators=(",", ":")
    )
    + "\r\n"
).encode()
SENDGRID_TS = "1600112502"


@pytest.fixture(scope="module")
def sendgrid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_key_b64(private_key: ec.EllipticCurvePrivateKey) -> str:
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def sendgrid_sign(private_key: ec.EllipticCurvePrivateKey, timestamp: str, body: bytes) -> str:
    return base64.b64encode(private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()


def sendgrid_request(
    signature: str, body: bytes = SENDGRID_BODY, timestamp: str = SENDGRID_TS
) -> InboundRequest:
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": signature,
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }
    return make_request(body, headers)


def test_sendgrid_signature_accepted_by_us_and_by_sendgrids_verifier(sendgrid_key):
    # Given an event batch signed with a P-256 key
    signature = sendgrid_sign(sendgrid_key, SENDGRID_TS, SENDGRID_BODY)
    public_key = public_key_b64(sendgrid_key)
    # When both verifiers check it
    ours = verify("sendgrid", sendgrid_request(signature), [], {"publicKey": public_key}, now=NOW)
    theirs = EventWebhook(public_key).verify_signature(SENDGRID_BODY.decode(), signature, SENDGRID_TS)
    # Then both accept, and the event id is the dedupe id
    assert ours == VerificationResult(True, "", "sg-ev-1")
    assert theirs is True


def test_sendgrid_accepts_pem_public_key(sendgrid_key):
    pem = (
        sendgrid_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    signature = sendgrid_sign(sendgrid_key, SENDGRID_TS, SENDGRID_BODY)
    assert verify("sendgrid", sendgrid_request(signature), [], {"publicKey": pem}, now=NOW).ok is True


@pytest.mark.parametrize(
    ("body", "timestamp"),
    [(SENDGRID_BODY.replace(b"delivered", b"bounce"), SENDGRID_TS), (SENDGRID_BODY, "1600112503")],
)
def test_sendgrid_tampering_is_rejected_by_both_verifiers(sendgrid_key, body, timestamp):
    signature = sendgrid_sign(sendgrid_key, SENDGRID_TS, SENDGRID_BODY)
    public_key = public_key_b64(sendgrid_key)
    ours = verify(
        "sendgrid", sendgrid_request(signature, body, timestamp), [], {"publicKey": public_key}, now=NOW
    )
    assert ours == VerificationResult(False, "signature mismatch", None)
    assert EventWebhook(public_key).verify_signature(body.decode(), signature, timestamp) is False


def test_sendgrid_other_key_and_rotation(sendgrid_key):
    other = ec.generate_private_key(ec.SECP256R1())
    signature = sendgrid_sign(sendgrid_key, SENDGRID_TS, SENDGRID_BODY)
    config = {"publicKey": public_key_b64(other)}
    assert verify("sendgrid", sendgrid_request(signature), [], config, now=NOW).ok is False
    # A second key supplied through secrets (rotation) is also tried
    assert (
        verify("sendgrid", sendgrid_request(signature), [public_key_b64(sendgrid_key)], config, now=NOW).ok
        is True
    )


@pytest.mark.parametrize(
    "public_key",
    [
        "",
        "not-a-key",
        base64.b64encode(b"junk").decode(),
        "-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----",
    ],
)
def test_sendgrid_invalid_public_key_fails_closed(sendgrid_key, public_key):
    signature = sendgrid_sign(sendgrid_key, SENDGRID_TS, SENDGRID_BODY)
    assert verify("sendgrid", sendgrid_request(signature), [], {"publicKey": public_key}, now=NOW) == (
        VerificationResult(False, "no valid public key configured", None)
    )


def test_sendgrid_rejects_non_p256_keys():
    p384 = ec.generate_private_key(ec.SECP384R1())
    signature = base64.b64encode(
        p384.sign(SENDGRID_TS.encode() + SENDGRID_BODY, ec.ECDSA(hashes.SHA256()))
    ).decode()
    result = verify("sendgrid", sendgrid_request(signature), [], {"publicKey": public_key_b64(p384)}, now=NOW)
    assert result.reason == "no valid public key configured"


def test_sendgrid_malformed_signature_and_optional_tolerance(sendgrid_key):
    config = {"publicKey": public_key_b64(sendgrid_key)}
    assert verify("sendgrid", sendgrid_request("@@@"), [], config, now=NOW).reason == "malformed signature"
    assert verify(
        "sendgrid", sendgrid_request(base64.b64encode(b"x").decode()), [], config, now=NOW
    ).reason == ("signature mismatch")
    signature = sendgrid_sign(sendgrid_key, SENDGRID_TS, SENDGRID_BODY)
    windowed = {**config, "toleranceSeconds": 300}
    assert (
        verify("sendgrid", sendgrid_request(signature), [], windowed, now=int(SENDGRID_TS) + 300).ok is True
    )
    assert verify(
        "sendgrid", sendgrid_request(signature), [], windowed, now=int(SENDGRID_TS) + 301
    ).reason == ("timestamp outside tolerance")
    assert (
        verify("sendgrid", make_request(SENDGRID_BODY), [], config, now=NOW).reason
        == "missing SendGrid signature headers"
    )


# ---------------------------------------------------------------------------
# none
# ---------------------------------------------------------------------------


def test_none_scheme_always_passes_but_says_unauthenticated():
    req = make_request(b"anything", {"X-Request-Id": "req-9"})
    assert verify("none", req, [], {}, now=NOW) == VerificationResult(True, "unauthenticated", "req-9")


# ---------------------------------------------------------------------------
# Failure hygiene across all schemes
# ---------------------------------------------------------------------------

LEAKY_SECRET = "whsec_TOPSECRETdoNotLeakMe0123456789abcdef"


def hostile_requests() -> list[InboundRequest]:
    """Requests that must all fail (or at least not raise) under every scheme."""
    secret_echo = {
        "X-Webhook-Signature": LEAKY_SECRET,
        "webhook-id": LEAKY_SECRET,
        "webhook-timestamp": str(NOW),
        "webhook-signature": "v1," + LEAKY_SECRET,
        "Stripe-Signature": f"t={NOW},v1={LEAKY_SECRET}",
        "X-Twilio-Signature": LEAKY_SECRET,
        "X-Hub-Signature-256": "sha256=" + LEAKY_SECRET,
        "X-Dropbox-Signature": LEAKY_SECRET,
        "X-HubSpot-Signature-v3": LEAKY_SECRET,
        "X-HubSpot-Request-Timestamp": str(NOW * 1000),
        "x-xero-signature": LEAKY_SECRET,
        "intuit-signature": LEAKY_SECRET,
        "X-Twilio-Email-Event-Webhook-Signature": LEAKY_SECRET,
        "X-Twilio-Email-Event-Webhook-Timestamp": str(NOW),
    }
    garbage = dict.fromkeys(secret_echo, "\u2603\x00 ,=,, v1,\u00e9 t=")
    well_formed_but_wrong = {
        **dict.fromkeys(secret_echo, base64.b64encode(b"\x01" * 32).decode()),
        "webhook-timestamp": str(NOW),
        "webhook-signature": "v1," + base64.b64encode(b"\x01" * 32).decode(),
        "Stripe-Signature": f"t={NOW},v1={'ab' * 32}",
        "X-HubSpot-Request-Timestamp": str(NOW * 1000),
        "X-Twilio-Email-Event-Webhook-Timestamp": str(NOW),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return [
        make_request(b""),
        make_request(b"\x00\xff\xfe binary", {"Content-Type": "application/x-www-form-urlencoded"}),
        make_request(json.dumps({"value": [{"clientState": "nope"}]}).encode(), secret_echo),
        make_request(b"[" * 5000, garbage, url="http://[::1:bad/path?%zz"),
        make_request(b"{}", secret_echo, url="https://example.com:99999/x", method="get"),
        make_request(b"a=\xff&b", well_formed_but_wrong, url="http://[::1:bad/path?bodySHA256=%zz"),
        make_request(b"a=1&a=2&b=", well_formed_but_wrong, url="https://example.com:99999/x?q=%E2%98"),
        make_request(b'{"value": [{"clientState": 1}]}', well_formed_but_wrong, url="relative/path"),
    ]


@pytest.mark.parametrize("scheme", [s for s in SCHEMES if s != "none"])
def test_failures_never_raise_and_reasons_never_contain_secrets(scheme):
    for req in hostile_requests():
        # When verifying a hostile request
        result = verify(
            scheme, req, [LEAKY_SECRET], {"clientState": LEAKY_SECRET + "x", "publicKey": "bad"}, now=NOW
        )
        # Then it fails with a short, secret-free reason and no dedupe id
        assert result.ok is False, (scheme, req)
        assert result.reason
        assert len(result.reason) < 80
        assert LEAKY_SECRET not in result.reason
        assert "TOPSECRET" not in result.reason
        assert result.dedupe_id is None


@pytest.mark.parametrize("scheme", SCHEMES)
def test_handshake_never_raises(scheme):
    for req in hostile_requests():
        response = handshake(scheme, req, [LEAKY_SECRET], {"verifyToken": LEAKY_SECRET})
        assert response is None or isinstance(response, HandshakeResponse)
        if response is not None:
            assert LEAKY_SECRET.encode() not in response.body


@pytest.mark.parametrize(
    "scheme", ["hmac", "standard", "stripe", "twilio", "meta", "dropbox", "hubspot", "xero", "quickbooks"]
)
def test_schemes_with_a_shared_secret_fail_closed_without_one(scheme):
    result = verify(scheme, hostile_requests()[2], [], {}, now=NOW)
    assert result == VerificationResult(False, "no secret configured", None)
