"""Verification schemes as records (issue 12 item 5): one ``Scheme`` per name in one
registry, provider-specific schemes living with their provider, every test signer
accepted by its own verifier, and the Standard Webhooks signature made by the
``standardwebhooks`` library. Pure tests: no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from core.signatures import Sample, Scheme
from integrations.providers.catalog import PROVIDERS, WEBHOOK_SCHEMES
from webhooks.signing import generate_whsec, standard_headers
from webhooks.verification import (
    REGISTRY,
    SCHEMES,
    InboundRequest,
    VerificationResult,
    accepted_status,
    config_error,
    sign_sample,
    verify,
)

NOW = 1_700_000_000
URL = "https://hub.example.com/api/webhooks/tenant/t1/w1"
GENERIC = {"hmac", "standard", "none"}


def test_every_scheme_is_one_record_under_its_own_name():
    assert tuple(REGISTRY) == SCHEMES
    for name, scheme in REGISTRY.items():
        assert isinstance(scheme, Scheme)
        assert scheme.name == name


def test_provider_schemes_live_with_their_provider_and_generic_ones_in_webhooks():
    # Given the registry split by where each scheme's verifier is defined
    homes = {name: scheme.verify.__module__ for name, scheme in REGISTRY.items()}
    # Then the generic schemes are webhooks' and every other one comes from a provider folder
    assert {n for n, m in homes.items() if m.startswith("webhooks.verification.")} == GENERIC
    assert set(WEBHOOK_SCHEMES) == set(SCHEMES) - GENERIC
    for name in WEBHOOK_SCHEMES:
        assert homes[name].startswith("integrations.providers."), (name, homes[name])
        assert REGISTRY[name] is WEBHOOK_SCHEMES[name]
    # And every provider naming a scheme of its own exports that very record
    for provider in PROVIDERS.values():
        if provider.webhook_scheme and provider.webhook_scheme not in GENERIC:
            assert provider.webhook_scheme in WEBHOOK_SCHEMES, provider.id


def test_the_microsoft_and_google_providers_share_one_record_each():
    from integrations.providers import google_calendar, google_drive, onedrive, outlook_calendar

    assert google_calendar.SCHEME is google_drive.SCHEME is REGISTRY["google_channel_token"]
    assert outlook_calendar.SCHEME is onedrive.SCHEME is REGISTRY["graph"]


@pytest.mark.parametrize("scheme", [s for s in SCHEMES if REGISTRY[s].sign_test is not None])
def test_each_test_signer_is_accepted_by_its_own_verifier(scheme):
    # Given a sample signed as the scheme's sender would
    secret = generate_whsec()
    body = json.dumps({"event": "test", "data": {"message": "שלום"}}, ensure_ascii=False).encode()
    sample = Sample(secret=secret, body=body, url=URL, now=NOW, msg_id="msg_test_1")
    headers = {"Content-Type": "application/json", **sign_sample(scheme, sample)}
    # When the scheme verifies it at the signing time
    result = verify(scheme, InboundRequest(method="POST", url=URL, headers=headers, body=body), [secret], {}, now=NOW)
    # Then it passes
    assert result.ok is True, result


def test_the_hub_cannot_sign_for_twilio_graph_or_sendgrid():
    sample = Sample(secret="s3cr3t-value-0123456789abcdef0123456789", body=b"{}", url=URL, now=NOW, msg_id="m")
    assert {s for s in SCHEMES if sign_sample(s, sample) is None} == {"twilio", "graph", "sendgrid"}


def test_config_checks_come_from_the_scheme():
    assert config_error("sendgrid", {}, [None]) == "sendgrid needs publicKey: the verification key SendGrid shows (base64)"
    assert config_error("sendgrid", {"publicKey": "not-a-key"}, ["also-not"]) is not None
    assert all(config_error(s, {}, [None]) is None for s in SCHEMES if s != "sendgrid")


def test_only_xero_is_answered_200_the_others_202():
    assert {s: accepted_status(s) for s in SCHEMES if accepted_status(s) != 202} == {"xero": 200}


def test_standard_signature_is_the_librarys_for_any_secret_form():
    # Given a whsec_ secret and a plain one (the hub keys the plain one by its UTF-8 bytes)
    body = '{"id":"évt"}'
    when = datetime.fromtimestamp(NOW, tz=UTC)
    for secret, key in ((generate_whsec(), None), ("plain-shared-secret", b"plain-shared-secret")):
        headers = standard_headers([secret], "msg_1", NOW, body.encode())
        # Then the library, given the same key, produces the same entry
        assert headers["webhook-signature"] == Webhook(key or secret).sign("msg_1", when, body)


def test_standard_refuses_a_body_that_is_not_utf8():
    # Given Standard Webhooks headers over a body the library cannot sign (not UTF-8)
    secret = generate_whsec()
    headers = standard_headers([secret], "msg_1", NOW, b"{}")
    req = InboundRequest(method="POST", url=URL, headers=headers, body=b'{"a":"\xff"}')
    # Then it is refused with a reason that says why, under both schemes that read those headers
    assert verify("standard", req, [secret], {}, now=NOW) == VerificationResult(False, "body is not UTF-8", None)
    assert verify("hmac", req, [secret], {}, now=NOW) == VerificationResult(False, "body is not UTF-8", None)
