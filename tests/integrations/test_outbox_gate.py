"""The integrations' outbox subscribers cost a tenant without integrations one shared query.

``sync_export`` and ``messaging_rules`` run for every drained batch; each read the
tenant's connected integrations in a savepoint of its own, even for the many
tenants that have none. Now both share one existence check per batch and tenant
(``entities.events.subscribe(only_for=…)``) and do not run at all when it says no.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.tenant_context import tenant_scope
from entities import events
from entities.models import EntityEvent
from tests.support.factories import create_meeting
from tests.support.oauth import make_oauth_integration

pytestmark = pytest.mark.django_db


def _drain_statements(persona) -> list[str]:
    """The statements the subscribers run for the persona's unprocessed events, as one batch."""
    with tenant_scope(persona.tenant.id):
        batch = list(EntityEvent.objects.filter(tenant=persona.tenant, processed_at__isnull=True))
        with CaptureQueriesContext(connection) as ctx:
            failed = events.process_batch(batch)
    assert not any(failed.values())
    return [q["sql"] for q in ctx.captured_queries]


def _reading_integrations(statements):
    return [sql for sql in statements if 'FROM "integrations"' in sql]


@pytest.mark.parametrize("n", [1, 3])  # one event (run one by one) and a batch
def test_a_tenant_without_integrations_costs_one_existence_check(alice, n):
    for i in range(n):
        create_meeting(alice, f"Visit {i}")

    statements = _drain_statements(alice)

    reads = _reading_integrations(statements)
    assert len(reads) == 1 and "LIMIT 1" in reads[0], reads  # shared by both subscribers
    # only the outgoing webhooks' subscriber opened a savepoint
    assert sum(sql.startswith("SAVEPOINT") for sql in statements) == 1


def test_a_tenant_with_a_connected_integration_still_reaches_both(alice, bob):
    make_oauth_integration(alice, "google_calendar", access="ya29.a", refresh="1//r")
    for i in range(3):
        create_meeting(alice, f"Visit {i}")
        create_meeting(bob, f"Visit {i}")

    statements = _drain_statements(alice)

    # the check, then sync_export's and messaging_rules' own reads, each in its savepoint
    assert len(_reading_integrations(statements)) == 3
    assert sum(sql.startswith("SAVEPOINT") for sql in statements) == 3
    assert len(_reading_integrations(_drain_statements(bob))) == 1
