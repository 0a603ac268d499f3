"""Canva designs -> documents through the sync engine, and export jobs on request, with the real
adapter and the hub's ProviderClient against the fake Connect API (tests/support/fakes/canva.py,
shaped as the API reference's example responses named there)."""

from __future__ import annotations

import pytest

from core.tenant_context import tenant_scope
from integrations.models import Integration
from integrations.services import provider_app_set
from tests.support.factories import client_for
from tests.support.fakes.canva import TOKEN
from tests.support.oauth import make_oauth_integration
from tests.support.sync_runs import documents, run_sync, sync_on_worker

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis")]


@pytest.fixture
def fake(canva_fake, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    provider_app_set(provider_id="canva", client_id="OC-canva-app", client_secret="canva-secret",
                     api_base_url=canva_fake.base_url, token_url=f"{canva_fake.base_url}/rest/v1/oauth/token")
    return canva_fake


def connected(persona, *, settings: dict | None = None) -> Integration:
    integration = make_oauth_integration(persona, "canva", access=TOKEN)
    with tenant_scope(persona.tenant.id):
        integration.settings = {"designIds": [], "ownership": "any", **(settings or {})}
        integration.sync_settings = {
            "enabled": True, "direction": "import", "frequency": "hourly", "fieldMappings": [], "filters": [],
            "entities": [{"localEntity": "document", "remoteEntity": "design", "enabled": True,
                          "direction": "import"}]}
        integration.save()
    return integration


def test_all_designs_page_by_continuation_and_stay_current_removals_included(alice, fake):
    for n in range(5):
        fake.put(f"DAF{n}", f"Board {n}")
    integration = connected(alice)

    first = run_sync(integration)

    assert first.status == "success", (first.error_message, first.failed_items)
    assert first.summary["created"] == 5
    assert fake.count("/rest/v1/designs") == 3  # 2 + 2 + 1 by continuation
    board = documents(alice)["Board 0"]
    assert board.file_url == "https://www.canva.com/api/design/DAF0-tok/view"
    assert board.thumbnail_url == "https://document-export.canva.com/DAF0/thumbnail/0001.png?sig=1"
    assert board.mime_type == "application/vnd.canva.design"
    assert fake.requests[0][2] == {"ownership": "any", "sort_by": "modified_descending"}

    fake.rename("DAF1", "Board One")
    del fake.designs["DAF2"]
    second = run_sync(integration)

    assert second.status == "success", second.error_message
    assert (second.summary["created"], second.summary["updated"], second.summary["deleted"]) == (0, 1, 1)
    assert set(documents(alice)) == {"Board 0", "Board One", "Board 3", "Board 4"}


def test_picked_designs_only_and_a_refused_continuation_relists(alice, bob, fake):
    from integrations.client import ProviderClient
    from integrations.providers.adapter import CursorInvalid
    from integrations.providers.catalog import get_provider
    from integrations.providers.registry import adapter_for

    fake.put("DAFpick1", "Kitchen moodboard")
    fake.put("DAFpick2", "Facade study")
    fake.put("DAFother", "Not picked")
    integration = connected(alice, settings={"designIds": ["DAFpick1", "DAFpick2"]})

    entry = run_sync(integration)
    assert entry.status == "success", entry.error_message
    assert set(documents(alice)) == {"Kitchen moodboard", "Facade study"}
    assert fake.count("/rest/v1/designs") == 0 and fake.count("/rest/v1/designs/DAFpick1") == 1

    del fake.designs["DAFpick2"]  # 404 on get design: the document goes
    assert run_sync(integration).summary["deleted"] == 1

    adapter = adapter_for(get_provider("canva"))
    all_designs = connected(bob)
    with tenant_scope(bob.tenant.id):
        client = ProviderClient.for_integration(all_designs)
    fake.page_size = 1
    page = adapter.list_changes(client, container="designs", cursor=None)
    assert not page.done
    fake.reset()
    with pytest.raises(CursorInvalid):
        adapter.list_changes(client, container="designs", cursor=page.cursor)


def test_settings_are_validated_on_save(alice, fake):
    integration = connected(alice)
    answer = client_for(alice).patch(f"/api/integrations/{integration.pk}",
                                     {"settings": {"designIds": ["ok", "../etc"], "ownership": "mine", "x": 1}},
                                     format="json")
    assert answer.status_code == 400, answer.content
    text = answer.content.decode()
    assert "designIds" in text and "ownership" in text and '"x"' in text


def test_error_mapping_auth_expired_429_backoff_5xx_retry_4xx_fails_the_run(alice, fake):
    fake.put("DAF1", "Board")
    integration = connected(alice)
    fake.fail_next(429, {"code": "too_many_requests", "message": "Slow down"}, path="/rest/v1/designs",
                   headers={"Retry-After": "1"})
    fake.fail_next(502, {"code": "internal_error", "message": "Try again"}, path="/rest/v1/designs")
    entry = run_sync(integration)
    assert entry.status == "success", entry.error_message
    assert fake.count(status=429) == 1 and fake.count(status=502) == 1 and "Board" in documents(alice)

    fake.fail_next(403, {"code": "permission_denied", "message": "Missing scope"}, path="/rest/v1/designs")
    refused = run_sync(integration)
    assert refused.status == "failed" and "HTTP 403 (permission_denied)" in refused.error_message
    assert "Board" in documents(alice)  # a failed listing removes nothing

    fake.fail_next(401, {"code": "invalid_access_token", "message": "Access token is invalid"},
                   path="/rest/v1/designs")
    expired = run_sync(integration)
    assert expired.status == "failed" and expired.error_code == "provider_expired", expired.error_message
    with tenant_scope(alice.tenant.id):
        assert Integration.objects.get(pk=integration.pk).status == Integration.Status.EXPIRED


def test_export_jobs_on_request_pdf_and_png_members_read_managers_start(alice, fake):
    fake.put("DAF1", "Board")
    fake.polls_until_done = 2
    integration = connected(alice)
    api = client_for(alice)

    bad = api.post(f"/api/integrations/{integration.pk}/exports", {"designId": "DAF1", "format": "docx"},
                   format="json")
    assert bad.status_code == 400 and "format" in bad.json()["error"]["fields"]
    started = api.post(f"/api/integrations/{integration.pk}/exports", {"designId": "DAF1", "format": "pdf"},
                       format="json")
    assert started.status_code == 202, started.content
    job = started.json()
    assert job["status"] == "in_progress"
    url = f"/api/integrations/{integration.pk}/exports/{job['jobId']}"
    assert api.get(url).json()["status"] == "in_progress"
    done = api.get(url).json()
    assert done["status"] == "success" and done["urls"] == ["https://export-download.canva.com/DAF1/1.pdf?sig=2"]
    missing = api.post(f"/api/integrations/{integration.pk}/exports", {"designId": "DAFnone", "format": "png"},
                       format="json")
    assert missing.status_code == 502 and "design_not_found" in missing.json()["error"]["message"]


def test_exports_are_refused_for_a_provider_without_them_and_for_another_tenant(alice, bob, fake):
    integration = connected(alice)
    assert client_for(bob).post(f"/api/integrations/{integration.pk}/exports",
                                {"designId": "DAF1", "format": "pdf"}, format="json").status_code == 404
    drive = make_oauth_integration(alice, "google_drive")
    answer = client_for(alice).post(f"/api/integrations/{drive.pk}/exports", {"designId": "x", "format": "pdf"},
                                    format="json")
    assert answer.status_code == 400 and "provider" in answer.json()["error"]["fields"]


def test_a_scheduled_run_on_the_real_worker_imports_the_designs(alice, fake, sync_worker):
    fake.put("DAF1", "Living room render")
    integration = connected(alice)
    entry = sync_on_worker(alice, integration)
    assert entry["status"] == "success", entry
    assert documents(alice)["Living room render"].thumbnail_url.startswith("https://document-export.canva.com/")
