"""The ``link`` transform: a reference to another synced record (a payment's ``clientId`` ->
a QuickBooks invoice's ``CustomerRef.value``, https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice),
resolved through the integration's own links and nothing else."""

from __future__ import annotations

import uuid

import pytest
from django.utils import translation

from core.tenant_context import tenant_scope
from integrations.models import ExternalLink, Integration
from integrations.sync.mapping import MappingConfigError, MappingContext, MappingError, compile_mappings
from integrations.sync.plan import plan_for

RULE = [{"localEntity": "payment", "localField": "clientId", "remoteField": "CustomerRef.value",
         "transform": "link", "transformConfig": {"entity": "client"}},
        {"localEntity": "payment", "localField": "description", "remoteField": "PrivateNote"}]


def test_a_linked_reference_becomes_the_remote_id_and_back():
    local_id = str(uuid.uuid4())
    table = {("client", "remote", local_id): "58", ("client", "local", "58"): local_id}
    ctx = MappingContext(link_lookup=lambda entity, want, value: table.get((entity, want, value)))
    mapping = compile_mappings(RULE, local_type="payment", defaults=[])

    assert mapping.to_remote({"clientId": local_id, "description": "x"}, ctx) == {
        "CustomerRef": {"value": "58"}, "PrivateNote": "x"}
    assert mapping.to_local({"CustomerRef": {"value": "58"}, "PrivateNote": "x"}, ctx) == {
        "clientId": local_id, "description": "x"}
    # an unknown remote reference writes nothing (the payment keeps its own client)
    assert mapping.to_local({"CustomerRef": {"value": "99"}}, ctx) == {}
    # a null reference stays null both ways
    assert mapping.to_remote({"clientId": None}, ctx) == {"CustomerRef": {"value": None}}


def test_exporting_a_reference_that_is_not_synced_yet_fails_that_record():
    ctx = MappingContext()
    mapping = compile_mappings(RULE, local_type="payment", defaults=[])
    with pytest.raises(MappingError, match="clientId: the client .* is not synced yet"):
        mapping.to_remote({"clientId": str(uuid.uuid4())}, ctx)


@pytest.mark.parametrize("config", [None, {}, {"entity": "invoice"}, {"entity": "client", "x": 1}])
def test_a_link_without_a_known_entity_is_refused(config):
    with translation.override("en"), pytest.raises(MappingConfigError, match="link needs transformConfig"):
        compile_mappings([{**RULE[0], "transformConfig": config}], local_type="payment", defaults=[])


@pytest.mark.django_db
def test_the_plans_context_reads_this_integrations_links_only(alice, bob):
    def integration(persona):
        with tenant_scope(persona.tenant.id):
            return Integration.objects.create(tenant=persona.tenant, provider="quickbooks", name="QB",
                                              status=Integration.Status.CONNECTED, connected_by=persona.user)

    mine, theirs = integration(alice), integration(bob)
    client_id = uuid.uuid4()
    with tenant_scope(alice.tenant.id):
        ExternalLink.objects.create(tenant_id=alice.tenant.id, integration=mine, local_type="client",
                                    local_id=client_id, remote_type="Customer", remote_id="58")
    # read outside any transaction, as the export maps records: the lookup scopes itself
    ctx = plan_for(mine).context()
    assert ctx.linked("client", "remote", str(client_id)) == "58"
    assert ctx.linked("client", "local", "58") == str(client_id)
    assert ctx.linked("client", "remote", "not-a-uuid") is None
    assert plan_for(theirs).context().linked("client", "local", "58") is None


@pytest.mark.django_db
def test_the_export_claims_rows_in_the_order_of_the_entity_pairs(alice):
    """Clients before the payments that refer to them, whatever order they were queued in."""
    from integrations.sync.exporter import claim_batch
    from integrations.sync.importer import Job
    from integrations.sync.queue import Pending, pending_upsert
    from integrations.sync.runs import RunReport

    with tenant_scope(alice.tenant.id):
        integration = Integration.objects.create(
            tenant=alice.tenant, provider="quickbooks", name="QB", status=Integration.Status.CONNECTED,
            connected_by=alice.user, sync_settings={"enabled": True, "direction": "export", "entities": [
                {"localEntity": "client", "remoteEntity": "Customer", "enabled": True},
                {"localEntity": "payment", "remoteEntity": "Invoice", "enabled": True}]})
    payment_id, client_id = uuid.uuid4(), uuid.uuid4()
    for local_type, local_id in (("payment", payment_id), ("client", client_id)):
        with tenant_scope(alice.tenant.id):
            pending_upsert(tenant_id=alice.tenant.id, items=[Pending(integration.pk, local_type, local_id, "upsert", {})])
    job = Job(plan=plan_for(integration), client=None, report=RunReport())
    assert [(r.local_type, r.local_id) for r in claim_batch(job)] == [("client", client_id), ("payment", payment_id)]
