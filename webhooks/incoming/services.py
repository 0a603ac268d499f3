"""Incoming webhooks: the webhook's own settings (create, update, delete, rotate) and the
public names of the incoming side, one import for views, admin, tasks and tests.

The flow lives in one file per step (DESIGN §3, C6), each read top-down:

- :mod:`webhooks.incoming.receive` - endpoint → verify → store → answer;
- :mod:`webhooks.incoming.process` - drain → filters → actions → record;
- :mod:`webhooks.incoming.actions` - the ``{action: handler}`` registry;
- :mod:`webhooks.incoming.forward` - the ``forward`` action: a delivery of the outgoing
  engine (``webhooks.outgoing.delivery``), and its outcome on the request;
- :mod:`webhooks.incoming.selftest` - the signed sample behind the "test" button;
- :mod:`webhooks.incoming.bodies` - body parsing shared by receive and forward.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.kick import resolve
from tenancy.models import Tenant
from webhooks import signing
from webhooks.incoming import conf
from webhooks.incoming.bodies import BodyError, clean_json, parse_body  # noqa: F401
from webhooks.incoming.forward import (  # noqa: F401
    FORWARD_DEFAULT_ATTEMPTS,
    FORWARD_DEFAULT_DELAY_SECONDS,
    FORWARD_EVENT,
    forward_enqueue,
)
from webhooks.incoming.models import WEBHOOK_TYPE, IncomingDedupe  # noqa: F401
from webhooks.incoming.process import (  # noqa: F401
    DRAIN_BATCH,
    claim_pending,
    incoming_cleanup,
    incoming_drain,
    incoming_process,
    incoming_redispatch_pending,
    incoming_reprocess,
    schedule_drain,
)
from webhooks.incoming.receive import NOT_FOUND, ReceiveResult, incoming_receive  # noqa: F401
from webhooks.incoming.selftest import SAMPLE_PAYLOAD, incoming_test  # noqa: F401
from webhooks.models import IncomingWebhook

#: The delivery engine's beat sweeper, by name (webhooks.outgoing.tasks; this side never imports it).
SWEEP_DELIVERIES_TASK = "webhooks.outgoing.tasks.sweep_due_deliveries"


def forward_retry_due() -> int:
    """Fire the due retries now; how many fired.

    Forward attempts are deliveries of the outgoing engine, whose beat sweeper
    does this every second for every delivery (forwards and outgoing webhooks
    alike); this runs one sweep in the caller's thread.
    """
    return resolve(SWEEP_DELIVERIES_TASK)()["retries"]


def public_url(*, tenant_id: uuid.UUID, webhook_id: uuid.UUID) -> str:
    return f"{conf.public_base_url()}/api/webhooks/tenant/{tenant_id}/{webhook_id}"


@transaction.atomic
def incoming_create(*, tenant: Tenant, data: dict[str, Any]) -> tuple[IncomingWebhook, str]:
    """Create a webhook; returns it and its secret (shown to the caller this once).

    ``data`` is validated input (model field names). Without a ``secret`` the
    hub generates a Standard Webhooks one (``whsec_`` + 32 random bytes).
    """
    secret = data.pop("secret", None) or signing.generate_whsec()
    webhook = IncomingWebhook(tenant=tenant, **data)
    webhook.url = public_url(tenant_id=tenant.id, webhook_id=webhook.id)
    webhook.set_secret("secret", secret)
    webhook.save()
    return webhook, secret


@transaction.atomic
def incoming_update(*, webhook: IncomingWebhook, data: dict[str, Any]) -> IncomingWebhook:
    data = dict(data)
    data.pop("secret", None)  # secrets change only through rotation
    for name, value in data.items():
        setattr(webhook, name, value)
    webhook.save(update_fields=[*data.keys(), "updated_at"] if data else ["updated_at"])
    return webhook


@transaction.atomic
def incoming_delete(*, webhook: IncomingWebhook) -> None:
    IncomingDedupe.objects.filter(webhook_id=webhook.id).delete()
    webhook.delete()


@transaction.atomic
def incoming_rotate_secret(*, webhook: IncomingWebhook, secret: str | None = None) -> tuple[IncomingWebhook, str]:
    """New secret now; the old one keeps verifying for the grace period (24 h default)."""
    new_secret = secret or signing.generate_whsec()
    old_secret = webhook.get_secret("secret")
    webhook.set_secret("previous_secret", old_secret)
    webhook.previous_secret_expires_at = timezone.now() + timedelta(seconds=conf.secret_grace_seconds())
    webhook.set_secret("secret", new_secret)
    webhook.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return webhook, new_secret
