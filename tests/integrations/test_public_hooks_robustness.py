"""The public provider endpoints never answer 500, whatever arrives (DESIGN §4 C5, §5 "bad input
gets a clear 4xx and changes nothing"): ``POST /api/integrations/hooks/<id>`` (provider webhooks
to an integration), ``/api/integrations/push/graph/<id>`` and ``/api/integrations/push/app/dropbox``.

Cardcom's re-query is answered with Cardcom v11's documented ``LowProfile/GetLpResult`` shape
(https://secure.cardcom.solutions/api/v11/Docs) -- here its failure: a 5xx or no answer at all.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
import responses
import time_machine
from django.test import Client as DjangoClient

from core.tenant_context import tenant_scope
from integrations.models import Integration, IntegrationLog
from tests.support.payments import connect_payments

CARDCOM = "https://secure.cardcom.solutions/api/v11"
NESTED = b"[" * 50_000 + b"]" * 50_000  # 100 KB, under every size cap, deeper than Python's recursion limit


@pytest.fixture
def anon() -> DjangoClient:
    return DjangoClient(enforce_csrf_checks=True, raise_request_exception=False)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", [
    "/api/integrations/hooks/{id}",
    "/api/integrations/push/graph/{id}",
    "/api/integrations/push/app/dropbox",
])
def test_deeply_nested_json_is_a_400_not_a_500(anon, path):
    response = anon.post(path.format(id=uuid.uuid4()), data=NESTED, content_type="application/json")
    assert 400 <= response.status_code < 500, response.status_code


def _cardcom(alice) -> Integration:
    return connect_payments(alice, "cardcom", {"terminalNumber": "1000", "apiName": "test2025", "apiPassword": "pw"},
                            entities=[("payment", "LowProfile", "export")])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("failure", ["server", "unreachable"])
def test_a_cardcom_callback_whose_requery_fails_is_a_clear_answer_not_a_500(alice, anon, settings, failure):
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL
    integration = _cardcom(alice)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        url = f"{CARDCOM}/LowProfile/GetLpResult"
        if failure == "server":
            rsps.add(responses.POST, url, status=503, json={"ResponseCode": -1, "Description": "busy"})
        else:
            rsps.add(responses.POST, url, body=requests.ConnectionError("refused"))
        response = anon.post(f"/api/integrations/hooks/{integration.pk}", content_type="application/json",
                             data=json.dumps({"LowProfileId": "3a9b0e3c-0000-4000-8000-000000000000"}))
    assert response.status_code in (502, 503), response.status_code
    assert "pw" not in response.content.decode()
    with tenant_scope(alice.tenant.id):
        assert not IntegrationLog.objects.filter(integration=integration, action="import").exists()
        integration.refresh_from_db()
        assert integration.status == Integration.Status.CONNECTED


@pytest.mark.django_db(transaction=True)
def test_an_integrations_hook_is_rate_limited_so_unsigned_calls_cannot_fan_out_to_the_provider(alice, anon, settings):
    # Cardcom's callback is unsigned: each call makes the hub ask Cardcom (GetLpResult). Past the
    # per-integration limit the hub answers 429 and asks nothing.
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL
    settings.INTEGRATION_HOOK_RATE_LIMIT = 3
    integration = _cardcom(alice)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, f"{CARDCOM}/LowProfile/GetLpResult",
                 json={"ResponseCode": 0, "Description": "", "LowProfileId": "x", "TranzactionId": 0,
                       "ReturnValue": None})
        # the eight calls inside one second of the hub's clock, however slowly this machine runs them
        with time_machine.travel(time.time(), tick=False):
            answers = [anon.post(f"/api/integrations/hooks/{integration.pk}", content_type="application/json",
                                 data=json.dumps({"LowProfileId": "3a9b0e3c-0000-4000-8000-000000000000"}))
                       for _ in range(8)]
        asked = len(rsps.calls)
    statuses = [a.status_code for a in answers]
    assert asked <= 3 * 2  # at most two one-second windows' worth, whatever the clock does
    assert statuses.count(429) >= 2, statuses
    assert (asked, statuses.count(429)) == (3, 5), statuses  # one window: the limit, then refusals
    assert all(a["Retry-After"] for a in answers if a.status_code == 429)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("body", [b'{"list_folder": "x"}', b'{"list_folder": ["a"]}', b'[1]', b'"s"', b'{"list_folder": 1}'])
def test_a_signed_dropbox_notification_of_another_shape_is_a_400(anon, body):
    # Signed as https://www.dropbox.com/developers/reference/webhooks says: hex HMAC-SHA256(app secret, body).
    import hashlib
    import hmac

    from integrations.services import provider_app_set

    provider_app_set(provider_id="dropbox", client_secret="the_secret")
    signature = hmac.new(b"the_secret", body, hashlib.sha256).hexdigest()
    answer = anon.post("/api/integrations/push/app/dropbox", body, content_type="application/json",
                       HTTP_X_DROPBOX_SIGNATURE=signature)
    assert answer.status_code == 400


HEADERS = [
    {},
    {"HTTP_STRIPE_SIGNATURE": "t=notanumber,v1=zz"},
    {"HTTP_STRIPE_SIGNATURE": "t=99999999999999999999999,v1=" + "a" * 64},
    {"HTTP_STRIPE_SIGNATURE": "," * 5000},
    {"HTTP_HASH": "%%%not-base64%%%"},
    {"HTTP_HASH": "a\x00b"},
]
BODIES = [b"", b"\x00\xff\xfe", b'{"transaction": "x"}', b'{"transaction": {"payment_page_request_uid": [1]}}',
          b"[]", b'"text"', b"a=%00&b=%ZZ", "ש".encode() * 1000, b"NaN", b'{"a": 1e99999}']


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("provider", ["stripe", "payplus"])
def test_a_signed_providers_hook_answers_4xx_to_any_forged_call_and_changes_nothing(alice, anon, provider):
    credentials = {"stripe": {"apiKey": "sk_test_x", "webhookSecret": "whsec_test_secret"},
                   "payplus": {"apiKey": "k", "secretKey": "payplus-secret", "paymentPageUid": "p"}}[provider]
    remote = {"stripe": "payment_intent", "payplus": "payment_page"}[provider]
    integration = connect_payments(alice, provider, credentials, entities=[("payment", remote, "import")])
    statuses = set()
    for headers in HEADERS:
        for body in BODIES:
            for content_type in ("application/json", "application/x-www-form-urlencoded", "text/plain"):
                answer = anon.post(f"/api/integrations/hooks/{integration.pk}?x=%00", body,
                                   content_type=content_type, **headers)
                statuses.add(answer.status_code)
    assert statuses <= {400, 401, 429}, statuses
    with tenant_scope(alice.tenant.id):
        assert not IntegrationLog.objects.filter(integration=integration).exists()
