"""The back office names what it stores (issue 14): an integration's provider by its catalog name
(Hebrew under the Hebrew admin, English under the English one; still sorted and filtered by the
provider), an outgoing webhook's last delivery status and an outbox row's source in words."""

from __future__ import annotations

import html
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.providers.catalog import PROVIDERS

pytestmark = pytest.mark.django_db(transaction=True)  # the admin reads through operator_scope, its own connection

_CELLS = re.compile(r'<(?:td|th)[^>]*class="field-(\w+)[^"]*"[^>]*>(.*?)</(?:td|th)>', re.S)
_READONLY = re.compile(r'class="form-row[^"]*\bfield-(\w+)[^"]*">(?:(?!form-row).)*?<div class="readonly">(.*?)</div>', re.S)
_TAGS = re.compile(r"<[^>]+>")


def _texts(pattern: re.Pattern, page: str, field: str) -> list[str]:
    return [html.unescape(_TAGS.sub("", cell)).strip() for name, cell in pattern.findall(page) if name == field]


def _filter_choices(page: str, title: str) -> list[str]:
    """The link texts of the changelist filter titled ``title``."""
    found = re.search(r"<details[^>]*>\s*<summary>\s*" + re.escape(title) + r"\s*</summary>(.*?)</details>", page, re.S)
    assert found, f"no filter titled {title!r}"
    return [html.unescape(_TAGS.sub("", a)).strip() for a in re.findall(r"<a [^>]*>(.*?)</a>", found.group(1), re.S)]


@pytest.fixture
def studio(transactional_db):
    from core.tenant_context import tenant_scope
    from integrations.models import Integration
    from tests.support.factories import fresh_persona

    persona = fresh_persona("Alice Studio")
    with tenant_scope(persona.tenant.id):
        calendar = Integration.objects.create(tenant=persona.tenant, provider="google_calendar", name="Calendar",
                                              status="connected", connected_by=persona.user)
        Integration.objects.create(tenant=persona.tenant, provider="priority", name="ERP", status="connected",
                                   connected_by=persona.user)
    return persona, calendar


def test_the_integrations_list_names_the_provider_sorts_and_filters_by_it(studio, admin_client):
    _persona, calendar = studio
    listing = reverse("admin:integrations_integration_changelist")
    page = admin_client.get(listing).content.decode()
    shown = _texts(_CELLS, page, "provider_label")
    assert sorted(shown) == sorted(["יומן Google", "פריוריטי"]), shown
    assert "google_calendar" not in _texts(_CELLS, page, "provider")
    # the filter lists the providers by name, and filters by id as before (?provider__exact=)
    assert set(_filter_choices(page, "לפי ספק")) >= {"יומן Google", "פריוריטי"}
    assert "?provider__exact=priority" in page
    filtered = admin_client.get(listing, {"provider__exact": "priority"})
    assert [r.provider for r in filtered.context["cl"].result_list] == ["priority"]
    # sorting by the column sorts by the provider
    column = filtered.context["cl"].list_display.index("provider_label")
    ordered = admin_client.get(listing, {"o": str(column)})
    assert [r.provider for r in ordered.context["cl"].result_list] == ["google_calendar", "priority"]
    ordered = admin_client.get(listing, {"o": f"-{column}"})
    assert [r.provider for r in ordered.context["cl"].result_list] == ["priority", "google_calendar"]
    # the change page too, and the English admin names it in English
    change = admin_client.get(reverse("admin:integrations_integration_change", args=[calendar.pk])).content.decode()
    assert _texts(_READONLY, change, "provider_label") == ["יומן Google"]
    english = admin_client.get(listing, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="en"' in english
    assert sorted(_texts(_CELLS, english, "provider_label")) == sorted(
        [PROVIDERS["google_calendar"].name_en, PROVIDERS["priority"].name_en])


def test_the_provider_apps_list_and_form_name_the_provider(admin_client):
    from integrations.services import provider_app_set

    provider_app_set(provider_id="hubspot", client_id="hid", client_secret="hs")
    page = admin_client.get(reverse("admin:integrations_providerapp_changelist")).content.decode()
    assert _texts(_CELLS, page, "provider_label") == ["HubSpot"]
    form = admin_client.get(reverse("admin:integrations_providerapp_add")).content.decode()
    assert '<option value="google_calendar">יומן Google (google_calendar)</option>' in form


def test_an_outgoing_webhooks_last_status_is_shown_in_words(studio, admin_client):
    from core.tenant_context import tenant_scope
    from webhooks.models import OutgoingWebhook

    persona, _calendar = studio
    with tenant_scope(persona.tenant.id):
        hook = OutgoingWebhook.objects.create(tenant=persona.tenant, name="CRM", url="https://crm.example.com/in",
                                              triggers=[{"entityType": "meeting", "events": ["created"]}],
                                              last_status="failed", last_sent_at=timezone.now())
    listing = reverse("admin:webhooks_outgoingwebhook_changelist")
    page = admin_client.get(listing).content.decode()
    assert _texts(_CELLS, page, "last_status") == ["נכשל"]
    assert set(_filter_choices(page, "לפי סטטוס אחרון")) >= {"הצלחה", "נכשל"}
    assert [h.pk for h in admin_client.get(listing, {"last_status__exact": "failed"}).context["cl"].result_list] == [hook.pk]
    change = admin_client.get(reverse("admin:webhooks_outgoingwebhook_change", args=[hook.pk])).content.decode()
    assert _texts(_READONLY, change, "last_status") == ["נכשל"]


@pytest.mark.parametrize(("source", "shown"), [
    ("api", "ממשק API"),
    ("messaging", "מנוע ההודעות (WhatsApp, SMS)"),
    ("webhook", "וובהוק נכנס"),
    ("webhook:hops=2", "וובהוק נכנס (אחרי 2 מעברים בין מערכות)"),
    ("integration:{id}", "סנכרון אינטגרציה"),
    ("someone-else", "someone-else"),  # a source the hub does not write: as stored
])
def test_an_outbox_rows_source_is_shown_in_words(studio, admin_client, source, shown):
    from core.tenant_context import tenant_scope
    from entities.models import EntityEvent

    persona, calendar = studio
    with tenant_scope(persona.tenant.id):
        event = EntityEvent.objects.create(tenant=persona.tenant, entity_type="meeting", entity_id=uuid.uuid4(),
                                           event="created", source=source.format(id=calendar.pk))
    page = admin_client.get(reverse("admin:entities_entityevent_changelist"), {"q": str(event.entity_id)}).content.decode()
    assert _texts(_CELLS, page, "source_label") == [shown]
    change = admin_client.get(reverse("admin:entities_entityevent_change", args=[event.pk])).content.decode()
    assert _texts(_READONLY, change, "source_label") == [shown]
    assert "field-source " not in change and 'field-source"' not in change  # the stored value is not shown beside it
    if source.startswith("integration:"):  # the sync's integration is linked
        assert reverse("admin:integrations_integration_change", args=[calendar.pk]) in change
