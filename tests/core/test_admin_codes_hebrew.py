"""Every admin changelist and change form shows labels, not stored codes, in Hebrew (issue 14 items 6, 7).

A staff superuser walks ``admin.site._registry``: each changelist, and the change page of one of its
rows (rows of every kind the hub writes are seeded). A cell, a read-only value or a page title that
is exactly a stored code (a choice's value, a log's action / direction / status, an entity type)
while a label exists for it is a failure; so is an English word in a change page's title.
"""

from __future__ import annotations

import html
import re
import uuid
from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from tests.support.browser import untranslated_words

pytestmark = pytest.mark.django_db(transaction=True)  # the admin reads through operator_scope, its own connection

# The data's own values, shown as stored: the seeded names, the calendar id, the superuser's name and the
# provider's own object name (a remote type: the provider's term, not the hub's code).
DATA_WORDS = ("admin", "event", "CRM", "Calendar", "Dead", "Kickoff", "primary", "Alice", "Studio")
# The hub's apps (django-celery-beat's pages: tests/core/test_admin_browser.py, its tasks named in English).
OURS = ("tenancy", "entities", "integrations", "webhooks", "webhooks_incoming")
_CELL = re.compile(r'<(?:td|th)[^>]*class="field-(\w+)[^"]*"[^>]*>(.*?)</(?:td|th)>', re.S)
_READONLY = re.compile(r'class="form-row[^"]*\bfield-(\w+)[^"]*">(?:(?!form-row).)*?<div class="readonly">(.*?)</div>', re.S)
_TITLE = re.compile(r"<title>(.*?)</title>", re.S)
_TAGS = re.compile(r"<[^>]+>")


def _code_fields(model) -> dict[str, set[str]]:
    """A model's fields holding stored codes that have labels, with those codes: its fields with choices
    (each choice whose label differs from its value), the integration log's action / direction / status,
    the entity type of the outbox and the sync bookkeeping, the outbox's source and the provider ids."""
    from entities.models import ENTITY_TYPES
    from integrations.providers.catalog import PROVIDERS

    fields = {f.name: {str(v) for v, label in f.choices if str(v) != str(label)}
              for f in model._meta.fields if f.choices}
    explicit = {
        "integrations.IntegrationLog": {
            "action": {"sync", "import", "export", "webhook_received", "webhook_sent", "connect", "test",
                       "token_refresh", "revoke", "api_call"},
            "direction": {"incoming", "outgoing"}, "status": {"running", "success", "partial", "failed"}},
        "entities.EntityEvent": {"entity_type": set(ENTITY_TYPES), "source": {"api", "messaging", "webhook"}},
        "integrations.Integration": {"provider": set(PROVIDERS)},
        "integrations.ProviderApp": {"provider": set(PROVIDERS)},
        "integrations.SyncState": {"local_type": set(ENTITY_TYPES)},
        "integrations.ExternalLink": {"local_type": set(ENTITY_TYPES)},
    }
    for name, codes in explicit.get(model._meta.label, {}).items():
        fields[name] = fields.get(name, set()) | codes
    return {name: codes for name, codes in fields.items() if codes}


def _raw(pattern: re.Pattern, page: str, codes: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(field, text) of each cell / read-only value of a code field that shows a stored code."""
    found = []
    for field, cell in pattern.findall(page):
        text = html.unescape(_TAGS.sub("", cell)).strip()
        if text in codes.get(field, ()):
            found.append((field, text))
    return found


@pytest.fixture
def seeded(transactional_db):
    from core.tenant_context import tenant_scope
    from entities.models import EntityEvent
    from integrations.models import ExternalLink, Integration, IntegrationLog, PushChannel, SyncState
    from tests.support.factories import fresh_persona, make_meeting
    from webhooks.models import IncomingWebhook, OutgoingWebhook, WebhookLog

    studio = fresh_persona("Alice Studio")
    now = timezone.now()
    with tenant_scope(studio.tenant.id):
        crm = Integration.objects.create(tenant=studio.tenant, provider="hubspot", name="CRM", status="error",
                                         connected_by=studio.user, last_error="401")
        calendar = Integration.objects.create(tenant=studio.tenant, provider="google_calendar", name="Calendar",
                                              status="connected", connected_by=studio.user)
        IntegrationLog.objects.create(tenant=studio.tenant, integration=crm, action="sync", direction="incoming",
                                      status="partial", started_at=now - timedelta(minutes=3), completed_at=now)
        IntegrationLog.objects.create(tenant=studio.tenant, integration=crm, action="token_refresh",
                                      direction="outgoing", status="failed", started_at=now - timedelta(minutes=9))
        PushChannel.objects.create(tenant=studio.tenant, integration=calendar, kind="google", container="primary",
                                   channel_id=str(uuid.uuid4()), expires_at=now + timedelta(days=6))
        meeting = make_meeting(studio.tenant, title="Kickoff")
        SyncState.objects.create(tenant=studio.tenant, integration=calendar, local_type="meeting",
                                 remote_type="event", remote_container="primary")
        ExternalLink.objects.create(tenant=studio.tenant, integration=calendar, local_type="meeting",
                                    local_id=meeting.pk, remote_type="event", remote_id="9f3k2x")
        if not EntityEvent.objects.exists():
            EntityEvent.objects.create(tenant=studio.tenant, entity_type="meeting", entity_id=meeting.pk,
                                       event="created")
        IncomingWebhook.objects.create(tenant=studio.tenant, name="CRM", url=f"/in/{uuid.uuid4()}",
                                       secret="s" * 32, actions=[])
        OutgoingWebhook.objects.create(tenant=studio.tenant, name="Dead CRM", url="https://dead.example.com/in",
                                       triggers=[{"entityType": "meeting", "events": ["created"]}],
                                       last_status="failed")
        WebhookLog.objects.create(tenant=studio.tenant, webhook_id=uuid.uuid4(), webhook_type="outgoing",
                                  direction="outgoing", method="POST", url="https://dead.example.com/in",
                                  status="failed", delivery_id=uuid.uuid4(), response_status=500)
    from integrations.services import provider_app_set

    provider_app_set(provider_id="hubspot", client_id="hid", client_secret="hs")
    return studio


def test_every_changelist_and_change_form_shows_labels_not_codes(seeded, admin_client):
    found, walked = [], []
    for model in admin.site._registry:
        opts = model._meta
        codes = _code_fields(model)
        changelist = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert changelist.status_code == 200, (opts.label, changelist.status_code)
        page = changelist.content.decode()
        assert 'lang="he"' in page
        found += [(opts.label, "list", *hit) for hit in _raw(_CELL, page, codes)]
        obj = changelist.context["cl"].result_list[:1]
        if not obj:
            continue
        change = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj[0].pk]))
        assert change.status_code == 200, (opts.label, change.status_code)
        page = change.content.decode()
        found += [(opts.label, "form", *hit) for hit in _raw(_READONLY, page, codes)]
        title = html.unescape(_TITLE.search(page).group(1)).strip()
        if opts.app_label in OURS and untranslated_words(title, allow=DATA_WORDS):
            found.append((opts.label, "title", title))
        walked.append(opts.label)
    for label in ("integrations.Integration", "integrations.ProviderApp", "webhooks.OutgoingWebhook",
                  "integrations.IntegrationLog", "integrations.PushChannel", "integrations.SyncState",
                  "integrations.ExternalLink", "entities.EntityEvent", "webhooks.WebhookLog"):
        assert label in walked, walked
    assert not found, found


def test_integration_log_codes_have_the_settings_pages_labels():
    """One source: the settings page's history filter reads the model's choices."""
    from django.utils import translation

    from integrations.models import IntegrationLog
    from integrations.pages.settings import _labels

    with translation.override("he"):
        labels = _labels()
        assert {k: str(v) for k, v in labels["action"].items()} == \
            {k: str(v) for k, v in IntegrationLog.Action.choices}
        assert str(dict(IntegrationLog.Action.choices)["token_refresh"]) != "token_refresh"
        assert {k: str(v) for k, v in labels["status"].items()} == \
            {k: str(v) for k, v in IntegrationLog.Status.choices}
        assert str(IntegrationLog._meta.get_field("direction").choices[0][1]) not in ("incoming", "Incoming")
