"""A hosted payment page's result applied with its integration's settings (PayPlus, Cardcom;
the seed's PaymentProviderConfig, rules in ``integrations.providers._payments``).

``settle_changes`` runs in the hook flow before the engine applies the callback's changes
(``hooks._apply``): for each change of a payment linked here it

- rewrites ``hub_status`` by ``allowPartialPayments`` (a smaller charge does not pay it);
- writes ``amount_paid`` / ``fee_amount`` / ``net_amount`` on the payment when the result
  records a charge (whatever ``autoUpdatePaymentStatus`` says: that setting is about the
  status only), only when they change, so the same callback twice writes nothing;
- publishes ``payment.received`` (``notifyOnPayment``) when a charge is newly recorded, and
  ``payment.failed`` (``notifyOnFailure``) for a declined attempt not seen before (the
  result's identity, ``hub_result_key``, is kept as the link's ``remote_version``).

The seed's realtime list (section ט) names no payment event; these two follow its shape
(``integrationId``, ``provider`` + the payment's fields, camelCase).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from django.utils import timezone

from core.realtime import publish
from entities.models import Payment
from integrations.models import ExternalLink, Integration
from integrations.providers._payments import settle
from integrations.providers.adapter import RemoteChange

log = logging.getLogger("architect_studio.integrations.sync")


def settle_changes(integration: Integration, remote_type: str,
                   changes: tuple[RemoteChange, ...]) -> tuple[RemoteChange, ...]:
    """``changes`` with the settings applied (see the module); the caller's tenant scope."""
    ids = [c.remote_id for c in changes if not c.deleted and "hub_result" in c.raw]
    if not ids:
        return changes
    links = {link.remote_id: link for link in ExternalLink.objects.filter(
        tenant_id=integration.tenant_id, integration=integration, remote_type=remote_type,
        local_type="payment", remote_id__in=ids)}
    payments = Payment.objects.in_bulk([link.local_id for link in links.values()])
    settings = integration.settings or {}
    out = []
    for change in changes:
        link = links.get(change.remote_id)
        payment = payments.get(link.local_id) if link is not None else None
        if change.deleted or payment is None or "hub_result" not in change.raw:
            out.append(change)
            continue
        outcome = settle(settings, payment.amount, change.raw)
        key = str(change.raw.get("hub_result_key") or "") or None
        new_result = key is None or link.remote_version != key
        out.append(dataclasses.replace(change, raw={**change.raw, "hub_status": outcome.status}, version=key))
        shown_status = outcome.status if settings.get("autoUpdatePaymentStatus") is not False else payment.status
        recorded = (outcome.amount_paid, outcome.fee, outcome.net)
        if outcome.recorded and recorded != (payment.amount_paid, payment.fee_amount, payment.net_amount):
            Payment.objects.filter(pk=payment.pk, tenant_id=payment.tenant_id).update(
                amount_paid=outcome.amount_paid, fee_amount=outcome.fee, net_amount=outcome.net,
                updated_at=timezone.now())
            if settings.get("notifyOnPayment") is not False:
                publish(integration.tenant_id, "payment.received", {
                    **_base(integration, payment, shown_status), "amountPaid": outcome.amount_paid,
                    "feeAmount": outcome.fee, "netAmount": outcome.net})
        elif outcome.failed and new_result and settings.get("notifyOnFailure") is not False:
            publish(integration.tenant_id, "payment.failed", _base(integration, payment, shown_status))
        if new_result and key is not None:
            ExternalLink.objects.filter(pk=link.pk, tenant_id=link.tenant_id).update(remote_version=key)
        log.info("hook for integration %s: payment %s result %s -> %s%s", integration.pk, payment.pk,
                 change.raw.get("hub_result"), outcome.status, " (recorded)" if outcome.recorded else "")
    return tuple(out)


def _base(integration: Integration, payment: Payment, status: str) -> dict[str, Any]:
    return {"integrationId": str(integration.pk), "provider": integration.provider, "paymentId": str(payment.pk),
            "status": status, "currency": payment.currency, "amount": payment.amount}
