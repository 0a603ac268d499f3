"""An inbound message finds its client by one indexed lookup (issue 16 hot path): the client's
``phone_e164`` (E.164 digits) is kept current on every save, by the imports' bulk insert and by
the migration's backfill, and ``client_for_phone`` reads it with one query however many
clients the studio has."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.tenant_context import tenant_scope
from entities.models import Client
from entities.services import entity_bulk_create, entity_create, entity_update
from integrations.messaging.inbound import client_for_phone

pytestmark = pytest.mark.django_db


def test_the_column_follows_the_phone_on_create_update_and_bulk_insert(alice, bob):
    with tenant_scope(alice.tenant.id):
        dana = entity_create(tenant=alice.tenant, entity_type="client", data={"name": "Dana", "phone": "050-123 4567"})
        assert dana.phone_e164 == "972501234567"
        entity_update(instance=dana, tenant=alice.tenant, data={"phone": "+1 (415) 555-0100"})
        dana.refresh_from_db()
        assert dana.phone_e164 == "14155550100"
        entity_update(instance=dana, tenant=alice.tenant, data={"phone": "call the office"})
        dana.refresh_from_db()
        assert dana.phone_e164 == ""
        dana.phone = "00972-52-7654321"
        dana.save(update_fields=["phone"])
        dana.refresh_from_db()
        assert dana.phone_e164 == "972527654321"
        [imported] = entity_bulk_create(tenant=alice.tenant, entity_type="client",
                                        items=[{"name": "Imported", "phone": "03-5551234"}])
        assert Client.objects.get(pk=imported.pk).phone_e164 == "97235551234"


def test_one_query_finds_the_client_among_many_and_another_tenants_never(alice, bob):
    with tenant_scope(alice.tenant.id):
        Client.objects.bulk_create([
            Client(tenant=alice.tenant, name=f"Client {i}", phone=f"052-{i:07d}", phone_e164=f"97252{i:07d}")
            for i in range(3000)])
        dana = entity_create(tenant=alice.tenant, entity_type="client", data={"name": "Dana", "phone": "050-123 4567"})
    with tenant_scope(bob.tenant.id):
        entity_create(tenant=bob.tenant, entity_type="client", data={"name": "Bob's", "phone": "+972 54 999 9999"})

    with tenant_scope(alice.tenant.id), CaptureQueriesContext(connection) as queries:
        found = client_for_phone(alice.tenant, "+972501234567", "972")
    assert found == str(dana.pk)
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")
               and "set_config" not in q["sql"]]
    assert len(selects) == 1 and "phone_e164" in selects[0]
    with tenant_scope(alice.tenant.id):
        assert client_for_phone(alice.tenant, "+972549999999", "972") is None  # bob's client
        assert client_for_phone(alice.tenant, "not a phone", "972") is None
        assert client_for_phone(alice.tenant, "", "972") is None


def test_the_lookup_uses_the_index(alice):
    with tenant_scope(alice.tenant.id), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM clients WHERE tenant_id = %s AND phone_e164 = %s",
                       [str(alice.tenant.id), "972501234567"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "idx_clients_phone_e164" in plan


def test_the_migration_backfills_existing_clients(alice):
    from django.apps import apps

    with tenant_scope(alice.tenant.id):
        dana = entity_create(tenant=alice.tenant, entity_type="client", data={"name": "Dana", "phone": "050-123 4567"})
        Client.objects.filter(pk=dana.pk).update(phone_e164="")  # as before the column existed
    migration = importlib.import_module("entities.migrations.0015_client_phone_e164")

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    migration.backfill(apps, editor)
    with tenant_scope(alice.tenant.id):
        assert Client.objects.get(pk=dana.pk).phone_e164 == "972501234567"
