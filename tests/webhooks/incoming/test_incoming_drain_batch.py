"""The drain creates a batch's entities together (issue 12, item 8): the same outcomes,
rows and events as one request at a time, in far fewer statements."""

from __future__ import annotations

import pytest

from core.tenant_context import tenant_scope
from entities.models import Client as ClientEntity
from entities.models import EntityEvent
from tests.support.webhooks import CREATE_CLIENT, deliver, make_webhook
from webhooks.incoming import process as processing
from webhooks.incoming import services
from webhooks.models import WebhookLog

pytestmark = pytest.mark.django_db


def lead(n: int, email: str | None = None) -> dict:
    return {"lead": {"name": f"Lead {n}", "email": email if email is not None else f"lead{n}@example.com"}}


def logs(alice, ids: list[str]) -> list[WebhookLog]:
    with tenant_scope(alice.tenant.id):
        by_id = {str(log.pk): log for log in WebhookLog.objects.filter(pk__in=ids)}
    return [by_id[i] for i in ids]


def test_a_batch_records_each_requests_own_outcome(alice, django_capture_on_commit_callbacks):
    webhook, secret = make_webhook(alice, actions=[CREATE_CLIENT])
    ids = [deliver(webhook, secret, payload=lead(0)),
           deliver(webhook, secret, payload=lead(1, email="not an email")),
           deliver(webhook, secret, payload={"lead": {"name": "No email"}}),
           deliver(webhook, secret, payload=lead(3))]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.incoming_drain(tenant_id=str(alice.tenant.id)) == 4
    first, refused, partial, last = logs(alice, ids)
    with tenant_scope(alice.tenant.id):
        clients = {c.email: c for c in ClientEntity.objects.all()}
        events = list(EntityEvent.objects.filter(event="created").values_list("entity_id", "source"))
    assert set(clients) == {"lead0@example.com", "", "lead3@example.com"}
    assert first.status == last.status == partial.status == "success"
    assert first.result["actions"] == [{"index": 0, "type": "create_entity", "status": "success",
                                        "entityType": "client", "entityId": str(clients["lead0@example.com"].id)}]
    assert partial.result["actions"][0]["missingPaths"] == ["lead.email"]
    assert refused.status == "failed"
    [outcome] = refused.result["actions"]
    assert (outcome["status"], outcome["error"], set(outcome["fields"])) == ("failed", "validation failed", {"email"})
    assert refused.error_message.startswith("create_entity: validation failed")
    assert sorted(events) == sorted((c.id, "webhook") for c in clients.values())


def test_a_batch_of_creates_takes_a_few_statements_not_a_few_per_request(alice, django_assert_max_num_queries):
    webhook, secret = make_webhook(alice, actions=[CREATE_CLIENT])
    ids = [deliver(webhook, secret, payload=lead(n)) for n in range(20)]
    with django_assert_max_num_queries(20):
        assert services.incoming_drain(tenant_id=str(alice.tenant.id), batch=25) == 20
    assert [log.status for log in logs(alice, ids)] == ["success"] * 20
    with tenant_scope(alice.tenant.id):
        assert ClientEntity.objects.count() == EntityEvent.objects.filter(event="created").count() == 20


def test_a_later_request_in_the_batch_sees_the_entities_of_an_earlier_one(alice):
    creator, creator_secret = make_webhook(alice, actions=[CREATE_CLIENT])
    update = {"type": "update_entity", "config": {
        "entityType": "client", "matchField": "email", "fieldMappings": {"email": "lead.email", "name": "lead.name"}}}
    updater, updater_secret = make_webhook(alice, name="Updater", actions=[update])
    ids = [deliver(creator, creator_secret, payload=lead(0)),
           deliver(updater, updater_secret, payload={"lead": {"name": "Renamed", "email": "lead0@example.com"}}),
           deliver(creator, creator_secret, payload=lead(2))]
    assert services.incoming_drain(tenant_id=str(alice.tenant.id)) == 3
    assert [log.status for log in logs(alice, ids)] == ["success"] * 3
    with tenant_scope(alice.tenant.id):
        assert ClientEntity.objects.get(email="lead0@example.com").name == "Renamed"


def test_an_error_creating_together_falls_back_to_one_request_at_a_time(alice, monkeypatch):
    webhook, secret = make_webhook(alice, actions=[CREATE_CLIENT])
    ids = [deliver(webhook, secret, payload=lead(n)) for n in range(3)]
    real = processing.create_entities

    def fails_after_writing(contexts):
        real(contexts)  # the rows are written, then the database refuses: all of it rolls back
        raise RuntimeError("connection lost")

    monkeypatch.setattr(processing, "create_entities", fails_after_writing)
    assert services.incoming_drain(tenant_id=str(alice.tenant.id)) == 3
    assert [log.status for log in logs(alice, ids)] == ["success"] * 3
    with tenant_scope(alice.tenant.id):
        assert ClientEntity.objects.count() == EntityEvent.objects.filter(event="created").count() == 3
