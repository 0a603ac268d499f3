"""The accounting providers' shared payment-status scenario (issue 15): an exported payment
becomes an invoice at the provider; what the provider says is still owed on it sets the
payment's status (``integrations.providers._accounting.STATUS_RULE``), and a later export
never overwrites it. Each provider's test module keeps its own payload shapes (QuickBooks'
``TotalAmt`` / ``Balance``, Xero's ``Status`` / ``Total`` / ``AmountDue``) and passes them in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from core.tenant_context import tenant_scope
from entities.models import Payment
from entities.services import entity_create, entity_update
from integrations.models import Integration
from tests.support.factories import Persona
from tests.support.sync_runs import drain_entity_events, run_sync

#: The last rule of every accounting adapter's invoice mapping, written out (not imported) so
#: a change to the adapters' rule fails here.
STATUS_MAPPING = {"localEntity": "payment", "localField": "status", "remoteField": "hub_status",
                  "transformConfig": {"direction": "import"}}


def assert_payment_status_follows_the_invoice(
    persona: Persona, integration: Integration, *, description: str,
    created: Callable[[], str],
    still_owed: Iterable[Callable[[str], None]],
    paid_in_full: Callable[[str], None],
    calls: list[Any],
    exported: Callable[[list[Any]], list[dict[str, Any]]],
    never_sent: set[str],
    kept: Callable[[str], None],
) -> None:
    """Given a client and a 1170.00 ILS payment exported as an invoice (``created`` checks the
    provider's copy and returns its id), each of ``still_owed`` (provider-side edits leaving
    some amount due) keeps the payment ``pending``, ``paid_in_full`` makes it ``paid``; then
    the studio edits the payment (description + " (final)", amount 1500.00): the export's
    invoice bodies (``exported`` of the fake's ``calls`` it made) carry none of ``never_sent``, ``kept`` checks
    the provider's invoice is still paid with the new description, and the payment stays paid."""
    with tenant_scope(persona.tenant.id):
        client = entity_create(tenant=persona.tenant, entity_type="client", source="api", data={"name": "Shapira"})
        payment = entity_create(tenant=persona.tenant, entity_type="payment", source="api",
                                data={"amount": "1170.00", "currency": "ILS", "client_id": str(client.pk),
                                      "description": description})
    drain_entity_events(str(persona.tenant.id))
    assert run_sync(integration).status == "success"
    invoice_id = created()

    def status() -> str:
        with tenant_scope(persona.tenant.id):
            return Payment.objects.get(pk=payment.pk).status

    # still owed at the provider (even partly paid): pending, the stand-in has no "partial"
    for owed in still_owed:
        owed(invoice_id)
        log = run_sync(integration)
        assert log.status == "success", (log.error_message, log.failed_items)
        assert status() == "pending"

    paid_in_full(invoice_id)
    log = run_sync(integration)
    assert log.status == "success", (log.error_message, log.failed_items)
    assert status() == "paid"

    # the studio edits the payment, even its amount: the export sends the description, never a
    # status, an amount due or new lines (which would reopen the balance), and the provider's
    # paid invoice stays paid
    with tenant_scope(persona.tenant.id):
        entity_update(tenant=persona.tenant, instance=Payment.objects.get(pk=payment.pk),
                      data={"description": f"{description} (final)", "amount": "1500.00"}, source="api")
    drain_entity_events(str(persona.tenant.id))
    before = len(calls)
    log = run_sync(integration)
    assert log.status == "success", (log.error_message, log.failed_items)
    sent = exported(calls[before:])
    assert sent and all(not never_sent & set(body) for body in sent), sent
    kept(invoice_id)
    assert status() == "paid"


def assert_payment_states(raw_of: Callable[[dict[str, Any]], Mapping[str, Any]],
                          cases: Iterable[tuple[dict[str, Any], str, str]]) -> None:
    """Each case: the provider's invoice fields -> (``hub_payment`` state, ``hub_status``) of the
    record ``raw_of(fields)`` the adapter reads from it."""
    for fields, state, status in cases:
        raw = raw_of(fields)
        assert (raw["hub_payment"], raw["hub_status"]) == (state, status), fields
