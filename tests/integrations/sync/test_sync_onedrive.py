"""OneDrive documents <-> driveItems through the sync engine, with the real adapter and the hub's
ProviderClient against the fake Graph OneDrive (tests/support/fakes/onedrive.py: root delta with
next/delta links and 410 resyncRequired, simple and session uploads, If-Match eTags) and a local
file server for the platform's files."""

from __future__ import annotations

import pytest

from core.tenant_context import tenant_scope
from integrations.models import Integration
from integrations.providers.onedrive import adapter as onedrive_adapter
from integrations.services import provider_app_set
from integrations.sync.exporter import export_pending
from tests.support.oauth import make_oauth_integration
from tests.support.sync_runs import (
    change_file,
    documents,
    export_job,
    local_document,
    local_rename,
    pending,
    run_sync,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis", "local_targets")]


@pytest.fixture
def fake(onedrive_fake):
    provider_app_set(provider_id="onedrive", client_id="ms-app", client_secret="ms-secret",
                     api_base_url=onedrive_fake.base_url, token_url=f"{onedrive_fake.base_url}/common/token")
    onedrive_fake.folder = onedrive_fake.add_folder("Architect Studio")
    return onedrive_fake


def connected(persona, fake, *, direction: str = "bidirectional") -> Integration:
    integration = make_oauth_integration(persona, "onedrive", access="EwBwA8l6BAAU")
    with tenant_scope(persona.tenant.id):
        integration.settings = {"rootFolderId": fake.folder, "rootFolderName": "Architect Studio",
                                "folderStructure": "flat"}
        integration.sync_settings = {
            "enabled": True, "direction": direction, "frequency": "manual", "fieldMappings": [], "filters": [],
            "entities": [{"localEntity": "document", "remoteEntity": "driveItem", "enabled": True,
                          "direction": direction}]}
        integration.save()
    return integration


def test_delta_pages_follow_renames_moves_out_and_deletions_and_a_410_relists(alice, fake):
    fake.page_size = 2
    plans = fake.put_file("Plans.pdf", b"%PDF plans", parent=fake.folder)
    photo = fake.put_file("Site.jpg", b"\xff\xd8" * 50, parent=fake.folder, mime="image/jpeg")
    contract = fake.put_file("Contract.pdf", b"%PDF contract", parent=fake.folder)
    fake.put_file("Elsewhere.pdf", b"x", parent=fake.root_id)
    integration = connected(alice, fake, direction="import")

    first = run_sync(integration)
    assert first.status == "success", first.error_message
    assert first.summary["created"] == 3
    docs = documents(alice)
    assert (docs["Site.jpg"].mime_type, docs["Site.jpg"].size_bytes) == ("image/jpeg", 100)
    assert docs["Plans.pdf"].file_url.endswith("/Documents/Plans.pdf")
    assert fake.count("GET", "/me/drive/root/delta") >= 3  # nextLink pages

    fake.edit(plans["id"], name="Plans v2.pdf")
    fake.edit(photo["id"], parent=fake.root_id)
    fake.delete(contract["id"])
    second = run_sync(integration)
    assert second.status == "success", second.error_message
    assert (second.summary["created"], second.summary["updated"], second.summary["deleted"]) == (0, 1, 2)
    assert set(documents(alice)) == {"Plans v2.pdf"}

    fake.put_file("Brief.docx", b"brief", parent=fake.folder)
    fake.expire_tokens()
    third = run_sync(integration)
    assert third.status == "success", third.error_message
    assert fake.count("GET", "/me/drive/root/delta", status=410) == 1
    assert set(documents(alice)) == {"Plans v2.pdf", "Brief.docx"} and third.summary["created"] == 1


def test_export_uploads_small_files_in_one_put_and_large_ones_in_ranges_without_the_token(alice, fake, file_server):
    small = b"%PDF small" * 10
    large = bytes(range(256)) * (onedrive_adapter.SIMPLE_LIMIT // 256 + 30000)
    local_document(alice, "Small.pdf", file_server.put("small.pdf", small))
    local_document(alice, "Large.dwg", file_server.put("large.dwg", large))
    integration = connected(alice, fake, direction="export")

    entry = run_sync(integration)

    assert entry.status == "success", (entry.error_message, entry.failed_items)
    stored = fake.children(fake.folder)
    assert fake.content[stored["Small.pdf"]["id"]] == small
    assert fake.content[stored["Large.dwg"]["id"]] == large
    ranges = [r for r in fake.requests if r.path.startswith("/upload/")]
    assert len(ranges) == -(-len(large) // onedrive_adapter.CHUNK) and all(r.status in (201, 202) for r in ranges)
    assert max(r.body_bytes for r in ranges) <= onedrive_adapter.CHUNK
    assert not any("authorization" in r.headers for r in ranges)
    assert run_sync(integration).status == "success" and fake.count("PUT", ":/content") == 1


def test_a_rename_with_a_stale_etag_gets_412_and_merges_first(alice, fake):
    integration = connected(alice, fake)
    local_document(alice, "Plans.pdf")
    assert run_sync(integration).summary["created"] == 1
    remote = fake.children(fake.folder)["Plans.pdf"]
    fake.edit(remote["id"], description="marked up by the client")
    local_rename(alice, "Plans.pdf", "Plans (final).pdf")
    job = export_job(integration)

    export_pending(job)

    assert job.report.failed == 0
    assert fake.count("PATCH", status=412) == 1
    now = fake.items[remote["id"]]
    assert (now["name"], now["description"]) == ("Plans (final).pdf", "marked up by the client")
    assert documents(alice)["Plans (final).pdf"].description == "marked up by the client"


def test_error_mapping_auth_expired_429_backoff_5xx_retry_4xx_failed_item(alice, fake, file_server, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    integration = connected(alice, fake)
    fake.put_file("Plans.pdf", b"plans", parent=fake.folder)
    fake.fail_next(429, "activityLimitReached", path="/me/drive/root/delta", headers={"Retry-After": "1"})
    fake.fail_next(503, "serviceNotAvailable", path="/me/drive/root/delta", headers={"Retry-After": "1"})
    entry = run_sync(integration)
    assert entry.status == "success", entry.error_message
    assert fake.count(status=429) == 1 and fake.count(status=503) == 1 and "Plans.pdf" in documents(alice)

    local_document(alice, "Refused.pdf", file_server.put("r.pdf", b"r"))
    fake.fail_next(403, "accessDenied", path=":/content")
    failed = run_sync(integration)
    assert failed.status == "partial" and failed.summary["failed"] == 1
    assert "403" in failed.failed_items[0]["error"] and len(pending(integration)) == 1

    fake.fail_next(401, "InvalidAuthenticationToken", path="/me/drive/root/delta")
    expired = run_sync(integration)
    assert expired.status == "failed" and expired.error_code == "provider_expired"
    with tenant_scope(alice.tenant.id):
        assert Integration.objects.get(pk=integration.pk).status == Integration.Status.EXPIRED


def test_realtime_end_to_end_through_the_api_a_graph_subscription_and_the_sync_worker(alice, fake, file_server,
                                                                                    settings, live_server, sync_worker):
    """Realtime through the API; the worker subscribes to the drive root; Graph's notification
    wakes an incremental run that imports the new item; a document created through the API is
    uploaded by the realtime export -- all through the real worker."""
    from tests.support.factories import client_for
    from tests.support.waiting import wait_until

    settings.PUBLIC_BASE_URL = live_server.url
    settings.INTEGRATIONS_PUSH_ALLOW_HTTP = True
    integration = make_oauth_integration(alice, "onedrive", access="EwBwA8l6BAAU")
    api = client_for(alice)
    response = api.patch(f"/api/integrations/{integration.pk}", {
        "settings": {"rootFolderId": fake.folder, "rootFolderName": "Architect Studio"},
        "syncSettings": {"enabled": True, "direction": "bidirectional", "frequency": "realtime", "fieldMappings": [],
                         "filters": [], "entities": [{"localEntity": "document", "remoteEntity": "driveItem",
                                                      "enabled": True, "direction": "bidirectional"}]}},
        format="json")
    assert response.status_code == 200, response.content
    wait_until(lambda: fake.subscriptions, 15, what="the drive-root subscription")
    (sub,) = fake.subscriptions.values()
    assert (sub["resource"], sub["changeType"]) == ("/me/drive/root", "updated")

    from integrations.models import IntegrationLog

    def idle():  # a notification during a run is kept for one more run (the maintenance beat's)
        with tenant_scope(alice.tenant.id):
            return not IntegrationLog.objects.filter(integration=integration, status="running").exists()

    wait_until(idle, 20, what="the first run to end")
    fake.put_file("From OneDrive.pdf", b"%PDF od", parent=fake.folder)
    assert fake.notify() == [202]
    wait_until(lambda: "From OneDrive.pdf" in documents(alice), 20, what="the imported document")

    created = api.post("/api/documents", {"name": "From the hub.pdf", "mimeType": "application/pdf",
                                          "fileUrl": file_server.put("hub.pdf", b"%PDF hub")}, format="json")
    assert created.status_code == 201, created.content
    wait_until(lambda: "From the hub.pdf" in fake.children(fake.folder), 20, what="the uploaded item")
    assert fake.content[fake.children(fake.folder)["From the hub.pdf"]["id"]] == b"%PDF hub"


def test_the_catalogs_rate_limit_paces_the_calls(alice, fake):
    """3 calls per second instead of the catalog's: the root read and six one-item delta pages
    wait for later windows, and Graph refuses none."""

    from tests.support.small_bucket import assert_paced_import

    fake.page_size = 1
    for n in range(6):
        fake.put_file(f"Paced {n}.pdf", b"%PDF paced", parent=fake.folder)
    assert_paced_import("onedrive", lambda: connected(alice, fake, direction="import"), fake, alice, files=6, min_calls=7)


def test_a_documents_changed_file_is_uploaded_again_to_the_same_item_with_if_match(alice, fake, file_server):
    local_document(alice, "Plans.pdf", file_server.put("plans-v1.pdf", b"%PDF v1"))
    integration = connected(alice, fake, direction="export")
    assert run_sync(integration).summary["created"] == 1
    (remote,) = fake.children(fake.folder).values()

    change_file(alice, "Plans.pdf", file_server.put("plans-v2.pdf", b"%PDF v2 revised"))
    entry = run_sync(integration)
    assert entry.status == "success", (entry.error_message, entry.failed_items)
    assert entry.summary["updated"] == 1
    assert set(fake.children(fake.folder)) == {"Plans.pdf"} and fake.content[remote["id"]] == b"%PDF v2 revised"
    put = [r for r in fake.requests if r.method == "PUT" and r.path.endswith(f"{remote['id']}/content")]
    assert len(put) == 1 and put[0].headers.get("if-match") == remote["eTag"]

    # above the simple limit: an upload session on the item, in ranges
    large = b"\x00\x01" * (onedrive_adapter.SIMPLE_LIMIT // 2 + 300_000)
    change_file(alice, "Plans.pdf", file_server.put("plans-v3.pdf", large))
    assert run_sync(integration).summary["updated"] == 1
    assert fake.content[remote["id"]] == large and len(fake.children(fake.folder)) == 1
    assert fake.count("POST", f"{remote['id']}/createUploadSession") == 1
    assert run_sync(integration).summary["updated"] == 0  # uploaded once


@pytest.mark.parametrize("policy", ["local_wins", "remote_wins"])
def test_a_file_changed_on_both_sides_follows_the_conflict_policy(alice, fake, file_server, policy):
    local_document(alice, "Plans.pdf", file_server.put("plans-v1.pdf", b"%PDF v1"))
    integration = connected(alice, fake)
    with tenant_scope(alice.tenant.id):
        Integration.objects.filter(pk=integration.pk).update(conflict_policy=policy)
    assert run_sync(integration).summary["created"] == 1
    (remote,) = fake.children(fake.folder).values()
    fake.replace_content(remote["id"], b"%PDF marked up in OneDrive")
    change_file(alice, "Plans.pdf", file_server.put("plans-v2.pdf", b"%PDF v2 from the studio"))
    job = export_job(integration)

    export_pending(job)

    assert job.report.failed == 0
    (conflict,) = [c for c in job.report.conflict_items if c.get("field") == "file"]
    expected = b"%PDF v2 from the studio" if policy == "local_wins" else b"%PDF marked up in OneDrive"
    assert conflict["winner"] == policy.split("_")[0]
    assert fake.content[remote["id"]] == expected and len(fake.children(fake.folder)) == 1
    assert fake.count("PUT", status=412) == 1
