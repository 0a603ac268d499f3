"""Incoming header filters on credential-like headers (issue 10 item 8).

Stored headers are redacted ("[redacted]" for Authorization, API keys, tokens...),
so a filter on such a header must be judged on the raw value when the request
arrives; its value is a secret itself, so it is sealed at rest and masked in answers.
"""

from __future__ import annotations

import json

import pytest

from core.tenant_context import tenant_scope
from entities.models import Client as ClientEntity
from tests.support.webhooks import CREATE_CLIENT, LEAD, deliver, make_webhook, process
from webhooks.incoming import services
from webhooks.models import IncomingWebhook, WebhookLog

pytestmark = pytest.mark.django_db

PARTNER_KEY = "Bearer partner-key-7f3a9c"


def test_a_filter_on_a_redacted_header_matches_the_raw_value(alice):
    webhook, secret = make_webhook(alice, actions=[CREATE_CLIENT], filters={"headers": {"Authorization": PARTNER_KEY}})
    # When the partner's request carries the expected credential
    ran = process(alice, deliver(webhook, secret, {**LEAD, "n": 1}, HTTP_AUTHORIZATION=PARTNER_KEY))
    # And another one carries a different credential
    skipped = process(alice, deliver(webhook, secret, {**LEAD, "n": 2}, HTTP_AUTHORIZATION="Bearer guess"))
    # Then the first runs its actions and the second is skipped by the filter
    assert ran.status == "success", ran.result
    assert skipped.status == "skipped"
    assert skipped.result["reason"] == "header Authorization does not match"
    with tenant_scope(alice.tenant.id):
        assert ClientEntity.objects.count() == 1
    # And the stored headers stay redacted; the credential is nowhere in the log rows
    assert ran.headers["Authorization"] == "[redacted]"
    assert "partner-key" not in json.dumps([ran.headers, ran.result, skipped.headers, skipped.result])


def test_header_filter_names_match_case_insensitively_and_missing_header_is_skipped(alice):
    webhook, secret = make_webhook(alice, actions=[CREATE_CLIENT], filters={"headers": {"x-api-key": "k-123456"}})
    assert process(alice, deliver(webhook, secret, {**LEAD, "n": 1}, HTTP_X_API_KEY="k-123456")).status == "success"
    assert process(alice, deliver(webhook, secret, {**LEAD, "n": 2})).status == "skipped"


def test_reprocessing_keeps_the_verdict_made_on_arrival(alice):
    webhook, secret = make_webhook(alice, actions=[CREATE_CLIENT], filters={"headers": {"Authorization": PARTNER_KEY}})
    log = process(alice, deliver(webhook, secret, HTTP_AUTHORIZATION=PARTNER_KEY))
    assert log.status == "success"
    again = services.incoming_reprocess(log)
    assert again["status"] == "success"


def test_filter_values_on_credential_headers_are_sealed_at_rest(alice):
    webhook, _secret = make_webhook(
        alice, actions=[CREATE_CLIENT], filters={"headers": {"Authorization": PARTNER_KEY, "X-Source": "site"}}
    )
    with tenant_scope(alice.tenant.id):
        stored = IncomingWebhook.objects.get(pk=webhook.pk)
    assert "partner-key" not in json.dumps(stored.filters)
    assert stored.filters["headers"]["X-Source"] == "site"
    assert stored.opened_filters() == {"headers": {"Authorization": PARTNER_KEY, "X-Source": "site"}}


def test_filter_credentials_are_masked_in_answers_and_kept_when_echoed(alice, alice_api):
    filters = {"headers": {"Authorization": PARTNER_KEY, "X-Source": "site"}, "bodyPath": "lead.kind"}
    actions = [{"type": "create_entity", "config": {"entityType": "client", "fieldMappings": {"name": "lead.name"}}}]
    response = alice_api.post("/api/webhooks/incoming", {"name": "Partner", "actions": actions, "filters": filters},
                              format="json")
    assert response.status_code == 201, response.content
    assert "partner-key" not in response.content.decode()
    assert response.json()["filters"]["headers"] == {"Authorization": "[redacted]", "X-Source": "site"}
    hook_id = response.json()["id"]
    shown = alice_api.get(f"/api/webhooks/incoming/{hook_id}")
    assert "partner-key" not in shown.content.decode()

    # The answer sent back as is keeps the stored credential
    echoed = shown.json()["filters"]
    echoed["headers"]["X-Source"] = "crm"
    patched = alice_api.patch(f"/api/webhooks/incoming/{hook_id}", {"filters": echoed}, format="json")
    assert patched.status_code == 200, patched.content
    with tenant_scope(alice.tenant.id):
        stored = IncomingWebhook.objects.get(pk=hook_id)
    assert stored.opened_filters()["headers"] == {"Authorization": PARTNER_KEY, "X-Source": "crm"}

    # A masked value with nothing behind it, or a ciphertext, is a 400 naming the field
    for bad in ({"X-Api-Key": "[redacted]"}, {"Authorization": stored.filters["headers"]["Authorization"]}):
        refused = alice_api.patch(f"/api/webhooks/incoming/{hook_id}", {"filters": {"headers": bad}}, format="json")
        assert refused.status_code == 400, refused.content
        assert list(refused.json()["error"]["fields"]) == [f"filters.headers.{next(iter(bad))}"]
    with tenant_scope(alice.tenant.id):
        assert IncomingWebhook.objects.get(pk=hook_id).filters == stored.filters


def test_the_test_endpoint_judges_credential_filters_on_its_own_headers(alice):
    # The hub's test request carries no Authorization: a filter on one skips it, visibly
    webhook, _secret = make_webhook(alice, actions=[CREATE_CLIENT], filters={"headers": {"Authorization": PARTNER_KEY}})
    outcome = services.incoming_test(webhook)
    assert outcome["status"] == "skipped"
    with tenant_scope(alice.tenant.id):
        assert WebhookLog.objects.get(pk=outcome["logId"]).status == "skipped"


@pytest.mark.django_db(transaction=True)
def test_the_verdict_is_stored_by_the_public_endpoint_outside_any_transaction():
    """The endpoint runs without a transaction in production: the webhook's filters must be
    read with it (a lazy load there has no tenant scope) and the verdict stored with the row."""
    from tests.support.factories import make_persona

    persona = make_persona("Filter Studio", "filters@example.com")
    webhook, secret = make_webhook(persona, actions=[CREATE_CLIENT], filters={"headers": {"Authorization": PARTNER_KEY}})
    ran = process(persona, deliver(webhook, secret, {**LEAD, "n": 1}, HTTP_AUTHORIZATION=PARTNER_KEY))
    skipped = process(persona, deliver(webhook, secret, {**LEAD, "n": 2}, HTTP_AUTHORIZATION="Bearer guess"))
    assert (ran.status, skipped.status) == ("success", "skipped")
