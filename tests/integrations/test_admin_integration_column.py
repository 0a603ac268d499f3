"""The admin's sync bookkeeping lists name an integration's provider as the catalog does, in the
admin's language (issue 14 item 6): never the provider's id on a Hebrew page."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from core.tenant_context import tenant_scope
from integrations.models import ExternalLink, IntegrationLog, SyncState
from integrations.providers.catalog import PROVIDERS
from tests.support.sync_runs import connect_calendar

pytestmark = pytest.mark.django_db(transaction=True)  # operator_scope reads on its own connection


def _bookkeeping_rows_and_staff(alice):
    """Alice's calendar integration with one log, sync state and link, and a staff client."""
    integration = connect_calendar(alice)
    with tenant_scope(alice.tenant.id):
        log = IntegrationLog.objects.create(tenant_id=alice.tenant.id, integration=integration, action="sync",
                                            direction="incoming", status="success")
        state = SyncState.objects.create(tenant_id=alice.tenant.id, integration=integration, local_type="meeting",
                                         remote_type="event", remote_container="studio")
        link = ExternalLink.objects.create(tenant_id=alice.tenant.id, integration=integration, local_type="meeting",
                                           local_id=integration.pk, remote_type="event", remote_id="evt-1",
                                           remote_container="studio")
    staff = get_user_model().objects.create_superuser("op", "op@example.com", "pw-123456789")
    web = Client()
    web.force_login(staff)
    return log, state, link, web


def test_the_integration_column_names_the_provider_in_the_admins_language(alice):
    _log, _state, _link, web = _bookkeeping_rows_and_staff(alice)
    google = PROVIDERS["google_calendar"]

    for path in ("/admin/integrations/integrationlog/", "/admin/integrations/syncstate/",
                 "/admin/integrations/externallink/"):
        hebrew = web.get(path, HTTP_ACCEPT_LANGUAGE="he").content.decode()
        english = web.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert f"Calendar ({google.name_he})" in hebrew and "(google_calendar)" not in hebrew, path
        assert f"Calendar ({google.name_en})" in english and "(google_calendar)" not in english, path
        assert ">אינטגרציה<" in hebrew and ">Integration<" in english, path


def test_the_change_pages_name_the_integrations_provider_in_the_admins_language(alice):
    """A log's (and the bookkeeping rows') detail page shows its integration as the list column
    does, not as ``Integration.__str__`` ("Name (provider_id)")."""
    log, state, link, web = _bookkeeping_rows_and_staff(alice)
    google = PROVIDERS["google_calendar"]

    for path in (f"/admin/integrations/integrationlog/{log.pk}/change/",
                 f"/admin/integrations/syncstate/{state.pk}/change/",
                 f"/admin/integrations/externallink/{link.pk}/change/"):
        hebrew = web.get(path, HTTP_ACCEPT_LANGUAGE="he")
        english = web.get(path, HTTP_ACCEPT_LANGUAGE="en")
        assert hebrew.status_code == english.status_code == 200, path
        hebrew, english = hebrew.content.decode(), english.content.decode()
        assert f"Calendar ({google.name_he})" in hebrew and "(google_calendar)" not in hebrew, path
        assert f"Calendar ({google.name_en})" in english and "(google_calendar)" not in english, path
