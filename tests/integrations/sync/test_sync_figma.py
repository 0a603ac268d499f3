"""Figma files -> documents through the sync engine, with the real adapter and the hub's
ProviderClient against the fake Figma REST API (tests/support/fakes/figma.py, shaped as the
projects and file endpoints' reference examples named there)."""

from __future__ import annotations

import pytest

from core.tenant_context import tenant_scope
from integrations.models import Integration
from integrations.services import provider_app_set
from tests.support.factories import client_for
from tests.support.fakes.figma import TOKEN
from tests.support.oauth import make_oauth_integration
from tests.support.sync_runs import documents, run_sync, sync_on_worker

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis")]


@pytest.fixture
def fake(figma_fake):
    provider_app_set(provider_id="figma", client_id="figma-app", client_secret="figma-secret",
                     api_base_url=figma_fake.base_url)
    return figma_fake


def connected(persona, **settings) -> Integration:
    integration = make_oauth_integration(persona, "figma", access=TOKEN)
    with tenant_scope(persona.tenant.id):
        integration.settings = {"fileKeys": [], "projectIds": [], "teamIds": [], **settings}
        integration.sync_settings = {
            "enabled": True, "direction": "import", "frequency": "daily", "fieldMappings": [], "filters": [],
            "entities": [{"localEntity": "document", "remoteEntity": "file", "enabled": True, "direction": "import"}]}
        integration.save()
    return integration


def test_a_team_a_project_and_picked_files_page_by_source_and_removals_reconcile(alice, fake):
    fake.teams["T1"] = ["P1", "P2"]
    fake.put("P1", "k1", "Floor plan")
    fake.put("P2", "k2", "Facade")
    fake.put("P3", "k3", "Lobby")
    fake.put("P9", "kpick", "Picked file")
    integration = connected(alice, teamIds=["T1"], projectIds=["P3"], fileKeys=["kpick"])

    first = run_sync(integration)

    assert first.status == "success", (first.error_message, first.failed_items)
    assert set(documents(alice)) == {"Floor plan", "Facade", "Lobby", "Picked file"}
    plan = documents(alice)["Floor plan"]
    assert (plan.file_url, plan.thumbnail_url) == ("https://www.figma.com/file/k1",
                                                   "https://s3-alpha.figma.com/thumbnails/k1.png")
    assert documents(alice)["Picked file"].file_url == "https://www.figma.com/design/kpick"  # meta's url
    assert fake.count("/v1/teams/T1/projects") == 1 and fake.count("/v1/files/kpick/meta") == 1

    fake.put("P1", "k1", "Floor plan v2")
    del fake.projects["P2"]["k2"]
    del fake.projects["P9"]["kpick"]
    second = run_sync(integration)

    assert second.status == "success", second.error_message
    assert (second.summary["updated"], second.summary["deleted"]) == (1, 2)
    assert set(documents(alice)) == {"Floor plan v2", "Lobby"}


def test_settings_are_validated_on_save(alice, fake):
    integration = connected(alice)
    answer = client_for(alice).patch(f"/api/integrations/{integration.pk}",
                                     {"settings": {"teamIds": "T1", "fileKeys": ["a/b"], "boards": []}}, format="json")
    assert answer.status_code == 400, answer.content
    text = answer.content.decode()
    assert "teamIds" in text and "fileKeys" in text and "boards" in text


def test_error_mapping_invalid_token_expired_429_backoff_5xx_retry_4xx_fails_the_run(alice, fake):
    fake.put("P1", "k1", "Floor plan")
    integration = connected(alice, projectIds=["P1"])
    fake.fail_next(429, {"status": 429, "err": "Rate limit exceeded"}, path="/v1/projects/P1/files",
                   headers={"Retry-After": "1"})
    fake.fail_next(500, {"status": 500, "err": "Internal error"}, path="/v1/projects/P1/files")
    assert run_sync(integration).status == "success"
    assert fake.count(status=429) == 1 and fake.count(status=500) == 1 and "Floor plan" in documents(alice)

    fake.fail_next(404, {"status": 404, "err": "Not found"}, path="/v1/projects/P1/files")
    failed = run_sync(integration)
    assert failed.status == "failed" and "HTTP 404 (Not found)" in failed.error_message
    assert "Floor plan" in documents(alice)

    fake.fail_next(403, {"status": 403, "err": "Invalid token"}, path="/v1/projects/P1/files")
    expired = run_sync(integration)
    assert expired.status == "failed" and expired.error_code == "provider_expired"
    with tenant_scope(alice.tenant.id):
        assert Integration.objects.get(pk=integration.pk).status == Integration.Status.EXPIRED


def test_a_run_on_the_real_worker_imports_the_files(alice, fake, sync_worker):
    fake.put("P1", "k1", "Kitchen")
    integration = connected(alice, projectIds=["P1"])
    entry = sync_on_worker(alice, integration)
    assert entry["status"] == "success", entry
    assert documents(alice)["Kitchen"].mime_type == "application/vnd.figma.figma"
    assert documents(alice)["Kitchen"].thumbnail_url == "https://s3-alpha.figma.com/thumbnails/k1.png"
