"""Google Drive documents <-> files through the sync engine, with the real adapter and the hub's
ProviderClient against the fake Drive API v3 (tests/support/fakes/google_drive.py: changes with
start page tokens, files.list, multipart and resumable uploads, versions) and a local file
server standing in for the platform's file storage."""

from __future__ import annotations

import pytest

from core.tenant_context import tenant_scope
from entities.models import Document
from entities.services import entity_create, entity_update
from integrations.client import ProviderClient
from integrations.models import ExternalLink, Integration
from integrations.providers.google_drive import adapter as drive
from integrations.services import provider_app_set
from integrations.sync import files
from integrations.sync.importer import Job
from integrations.sync.plan import plan_for
from integrations.sync.runs import RunReport
from tests.support.oauth import make_oauth_integration
from tests.support.sync_runs import (
    change_file,
    documents,
    drain_entity_events,
    export_job,
    local_document,
    local_rename,
    pending,
    run_sync,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis", "local_targets")]

ROOT = "0BRootFolderArchitectStudio"


@pytest.fixture
def fake(google_drive_fake):
    provider_app_set(provider_id="google_drive", client_id="gid.apps.googleusercontent.com", client_secret="gs",
                     api_base_url=google_drive_fake.base_url, token_url=f"{google_drive_fake.base_url}/token")
    google_drive_fake.add_folder(ROOT, "Architect Studio")
    return google_drive_fake


def connected(persona, *, direction: str = "bidirectional", structure: str = "flat") -> Integration:
    integration = make_oauth_integration(persona, "google_drive", access="ya29.a0AfH6SMB")
    with tenant_scope(persona.tenant.id):
        integration.settings = {"rootFolderId": ROOT, "rootFolderName": "Architect Studio",
                                "folderStructure": structure}
        integration.sync_settings = {
            "enabled": True, "direction": direction, "frequency": "manual", "fieldMappings": [], "filters": [],
            "entities": [{"localEntity": "document", "remoteEntity": "file", "enabled": True,
                          "direction": direction}]}
        integration.save()
    return integration


def test_change_feed_pages_follows_renames_moves_and_deletions_and_a_refused_token_relists(alice, fake, monkeypatch):
    monkeypatch.setattr(drive, "PAGE_SIZE", 2)  # every listing is paged
    plans = fake.put_file("Plans.pdf", b"%PDF-1.7 plans", parent=ROOT)
    photo = fake.put_file("Site.jpg", b"\xff\xd8\xff" * 100, parent=ROOT, mime="image/jpeg")
    contract = fake.put_file("Contract.pdf", b"%PDF contract", parent=ROOT)
    fake.put_file("Elsewhere.pdf", b"x", parent="root")  # not in the root folder
    fake.add_folder(None, "Sub folder", parent=ROOT)  # a folder is not a document
    integration = connected(alice, direction="import")

    first = run_sync(integration)
    assert first.status == "success", first.error_message
    assert first.summary["created"] == 3
    docs = documents(alice)
    assert set(docs) == {"Plans.pdf", "Site.jpg", "Contract.pdf"}
    assert (docs["Site.jpg"].mime_type, docs["Site.jpg"].size_bytes) == ("image/jpeg", 300)
    assert docs["Plans.pdf"].file_url == f"https://drive.google.com/file/d/{plans['id']}/view?usp=drivesdk"
    assert fake.count("GET", "/drive/v3/files") >= 2  # the full listing was paged

    # when the user renames one, moves one out of the folder and deletes one forever
    fake.edit(plans["id"], name="Plans v2.pdf")
    fake.edit(photo["id"], parents=["root"])
    fake.delete_forever(contract["id"])
    second = run_sync(integration)
    assert second.status == "success", second.error_message
    assert (second.summary["updated"], second.summary["deleted"]) == (1, 2)
    assert set(documents(alice)) == {"Plans v2.pdf"}
    assert fake.count("GET", "/drive/v3/changes") >= 1

    # when Drive no longer takes the stored page token: a full listing, nothing doubled
    fake.put_file("Brief.docx", b"brief", parent=ROOT)
    fake.expire_tokens()
    third = run_sync(integration)
    assert third.status == "success", third.error_message
    assert fake.count("GET", "/drive/v3/changes", status=400) == 1
    assert set(documents(alice)) == {"Plans v2.pdf", "Brief.docx"}
    assert third.summary["created"] == 1


def test_export_uploads_small_files_in_one_request_and_large_ones_streamed_in_chunks(alice, fake, file_server):
    small = b"%PDF-1.7 small" * 10
    large = bytes(range(256)) * (drive.SIMPLE_LIMIT // 256 + 9000)  # ~7.3 MB: above the simple-upload limit
    local_document(alice, "Small.pdf", file_server.put("small.pdf", small))
    local_document(alice, "Large.dwg", file_server.put("large.dwg", large), mime="application/acad")
    integration = connected(alice, direction="export")

    entry = run_sync(integration)

    assert entry.status == "success", (entry.error_message, entry.failed_items)
    assert entry.summary["created"] == 2
    stored = fake.children(ROOT)
    assert set(stored) == {"Small.pdf", "Large.dwg"}
    assert fake.content[stored["Small.pdf"]["id"]] == small
    assert fake.content[stored["Large.dwg"]["id"]] == large
    assert fake.count("POST", "/upload/drive/v3/files") == 2  # one multipart, one session opened
    chunks = [r for r in fake.requests if r.method == "PUT"]
    assert len(chunks) == -(-len(large) // drive.CHUNK)
    assert max(r.body_bytes for r in chunks) <= drive.CHUNK  # streamed: never the whole file in one request
    docs = documents(alice)
    assert stored["Large.dwg"]["appProperties"] == {"architectStudioId": str(docs["Large.dwg"].pk)}
    # a second run uploads nothing again
    again = run_sync(integration)
    assert again.status == "success" and fake.count("POST", "/upload/drive/v3/files") == 2


def test_folders_of_the_structure_are_created_once_and_remembered(alice, fake):
    integration = connected(alice, structure="by_project")
    with tenant_scope(alice.tenant.id):
        plan = plan_for(Integration.objects.get(pk=integration.pk))
        client = ProviderClient.for_integration(plan.integration)
    job = Job(plan=plan, client=client, report=RunReport())
    path = files.folder_path("by_project", {"projectName": "Villa / Herzliya"})
    assert path == ("Villa   Herzliya",)

    first = files.resolve_folder(job, root=ROOT, path=path)
    second = files.resolve_folder(job, root=ROOT, path=path)

    assert first == second == fake.children(ROOT)["Villa   Herzliya"]["id"]
    assert fake.count("POST", "/drive/v3/files") == 1 and fake.count("GET", "/drive/v3/files") == 1
    with tenant_scope(alice.tenant.id):
        assert ExternalLink.objects.filter(integration=integration, local_type="folder").count() == 1
    assert files.folder_path("flat", {"projectName": "Villa"}) == ()


def test_a_file_changed_in_drive_since_it_was_read_is_merged_not_overwritten(alice, fake):
    integration = connected(alice)
    local_document(alice, "Plans.pdf")
    assert run_sync(integration).summary["created"] == 1
    (remote,) = fake.children(ROOT).values()
    fake.edit(remote["id"], description="marked up by the client")  # Drive's version moves on
    from integrations.sync.exporter import export_pending

    local_rename(alice, "Plans.pdf", "Plans (final).pdf")
    job = export_job(integration)

    export_pending(job)  # the export meets a newer version: imports (merges) first, then writes

    assert job.report.failed == 0
    now = fake.files[remote["id"]]
    assert (now["name"], now["description"]) == ("Plans (final).pdf", "marked up by the client")
    assert documents(alice)["Plans (final).pdf"].description == "marked up by the client"
    assert fake.count("GET", f"/drive/v3/files/{remote['id']}") >= 2  # the version read before each write


def test_error_mapping_auth_expired_429_backoff_5xx_retry_4xx_failed_item(alice, fake, file_server, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake token endpoint is http
    integration = connected(alice)
    fake.put_file("Plans.pdf", b"plans", parent=ROOT)
    fake.fail_next(429, "rateLimitExceeded", headers={"Retry-After": "1"}, path="/drive/v3/files")
    fake.fail_next(503, "backendError", path="/drive/v3/changes/startPageToken")
    entry = run_sync(integration)
    assert entry.status == "success", entry.error_message
    assert fake.count(status=429) == 1 and fake.count(status=503) == 1 and documents(alice)["Plans.pdf"]

    # a 4xx on one upload: that document is a failed item, the row stays queued for its retry
    local_document(alice, "Refused.pdf", file_server.put("r.pdf", b"r"))
    fake.fail_next(403, "insufficientFilePermissions", path="/upload/drive/v3/files")
    failed = run_sync(integration)
    assert failed.status == "partial" and failed.summary["failed"] == 1
    assert "403" in failed.failed_items[0]["error"]
    assert len(pending(integration)) == 1

    # the token is refused and the refresh token revoked: the run fails and the integration is expired
    fake.fail_next(401, "authError", path="/drive/v3/changes")
    expired = run_sync(integration)
    assert expired.status == "failed" and expired.error_code == "provider_expired"
    with tenant_scope(alice.tenant.id):
        assert Integration.objects.get(pk=integration.pk).status == Integration.Status.EXPIRED


def test_realtime_end_to_end_through_the_api_the_push_channel_and_the_sync_worker(alice, fake, file_server,
                                                                                 settings, live_server, sync_worker):
    """Realtime turned on through the API; the worker opens a changes.watch channel; Drive's
    notification wakes an incremental run that imports the new file; a document created
    through the API is uploaded by the realtime export -- all through the real worker."""
    from tests.support.factories import client_for
    from tests.support.waiting import wait_until

    settings.PUBLIC_BASE_URL = live_server.url
    settings.INTEGRATIONS_PUSH_ALLOW_HTTP = True
    integration = make_oauth_integration(alice, "google_drive", access="ya29.a0AfH6SMB")
    api = client_for(alice)
    response = api.patch(f"/api/integrations/{integration.pk}", {
        "settings": {"rootFolderId": ROOT, "rootFolderName": "Architect Studio", "folderStructure": "flat"},
        "syncSettings": {"enabled": True, "direction": "bidirectional", "frequency": "realtime", "fieldMappings": [],
                         "filters": [], "entities": [{"localEntity": "document", "remoteEntity": "file",
                                                      "enabled": True, "direction": "bidirectional"}]}},
        format="json")
    assert response.status_code == 200, response.content
    wait_until(lambda: fake.channels, 15, what="the changes.watch channel")

    # when a file is added in Drive and Drive notifies the hub
    from integrations.models import IntegrationLog

    def idle():  # a notification during a run is kept for one more run (the maintenance beat's)
        with tenant_scope(alice.tenant.id):
            return not IntegrationLog.objects.filter(integration=integration, status="running").exists()

    wait_until(idle, 20, what="the first run to end")
    fake.put_file("From Drive.pdf", b"%PDF drive", parent=ROOT)
    assert fake.notify() == [200]
    wait_until(lambda: "From Drive.pdf" in documents(alice), 20, what="the imported document")

    # when a document is created through the API
    created = api.post("/api/documents", {"name": "From the hub.pdf", "mimeType": "application/pdf",
                                          "fileUrl": file_server.put("hub.pdf", b"%PDF hub")}, format="json")
    assert created.status_code == 201, created.content
    wait_until(lambda: "From the hub.pdf" in fake.children(ROOT), 20, what="the uploaded file")
    uploaded = fake.children(ROOT)["From the hub.pdf"]
    assert fake.content[uploaded["id"]] == b"%PDF hub"
    assert uploaded["appProperties"]["architectStudioId"] == created.json()["id"]


def test_the_adapter_and_the_fake_speak_drive_v3_as_googles_discovery_document_defines_it(alice, fake, file_server):
    """Checked against something no one here wrote: the Drive v3 discovery document shipped in
    google-api-python-client. Every query parameter the adapter sent is one the method takes
    (or a standard one), FILE_FIELDS names File properties, and the fake's answers use only
    the properties of File, FileList, ChangeList, Change and StartPageToken."""
    import json
    from pathlib import Path

    import googleapiclient

    doc = json.loads((Path(googleapiclient.__file__).parent / "discovery_cache/documents/drive.v3.json").read_text())
    methods = {(m, p): doc["resources"][r]["methods"][n]["parameters"] for (m, p), (r, n) in {
        ("GET", "/drive/v3/files"): ("files", "list"), ("POST", "/drive/v3/files"): ("files", "create"),
        ("POST", "/upload/drive/v3/files"): ("files", "create"), ("GET", "/drive/v3/changes"): ("changes", "list"),
        ("GET", "/drive/v3/changes/startPageToken"): ("changes", "getStartPageToken"),
        ("GET", "/drive/v3/files/{id}"): ("files", "get"), ("PATCH", "/drive/v3/files/{id}"): ("files", "update"),
    }.items()}
    standard = set(doc["parameters"])
    schema = {name: set(doc["schemas"][name]["properties"]) for name in
              ("File", "FileList", "ChangeList", "Change", "StartPageToken")}
    assert set(drive.FILE_FIELDS.split(",")) <= schema["File"]

    fake.put_file("Plans.pdf", b"%PDF plans", parent=ROOT)
    local_document(alice, "Brief.pdf", file_server.put("brief.pdf", b"%PDF brief"))
    integration = connected(alice)
    assert run_sync(integration).status == "success"
    fake.edit(next(iter(fake.children(ROOT).values()))["id"], name="Renamed.pdf")
    assert run_sync(integration).status == "success"

    checked = set()
    for seen in fake.requests:
        if seen.method == "PUT":
            continue  # the session URI's own upload_id (issued by Google, not a method parameter)
        path = "/drive/v3/files/{id}" if seen.path.startswith("/drive/v3/files/") else seen.path
        allowed = set(methods[(seen.method, path)]) | standard
        assert set(seen.query) <= allowed, (seen.method, seen.path, set(seen.query) - allowed)
        checked.add((seen.method, path))
    assert {("GET", "/drive/v3/files"), ("GET", "/drive/v3/changes"), ("GET", "/drive/v3/changes/startPageToken"),
            ("POST", "/upload/drive/v3/files")} <= checked
    auth = {"authorization": "Bearer x"}
    listed = json.loads(fake.handle("GET", f"/drive/v3/files?q='{ROOT}' in parents", auth, b"")[1])
    changes = json.loads(fake.handle("GET", "/drive/v3/changes?pageToken=1", auth, b"")[1])
    start = json.loads(fake.handle("GET", "/drive/v3/changes/startPageToken", auth, b"")[1])
    assert set(listed) <= schema["FileList"] and set(changes) <= schema["ChangeList"]
    assert set(start) <= schema["StartPageToken"]
    assert all(set(f) <= schema["File"] for f in listed["files"])
    assert all(set(c) <= schema["Change"] and set(c.get("file", {})) <= schema["File"] for c in changes["changes"])


@pytest.mark.parametrize("provider", ["google_drive", "dropbox", "onedrive"])
def test_storage_settings_are_the_seeds_and_bad_ones_are_a_clear_400(alice, bob, provider):
    from tests.support.factories import client_for

    integration = make_oauth_integration(alice, provider)
    api = client_for(alice)
    url = f"/api/integrations/{integration.pk}"
    bad = api.patch(url, {"settings": {"folderStructure": "by_year", "autoUploadDocuments": "yes",
                                       "direction": "bidirectional"}}, format="json")
    assert bad.status_code == 400, bad.content
    fields = bad.json()["error"]["fields"]
    assert all(key in str(fields) for key in ("folderStructure", "autoUploadDocuments", "direction", "by_project"))
    good = api.patch(url, {"settings": {"rootFolderId": "folder-1", "rootFolderName": "Studio",
                                        "folderStructure": "by_client", "syncPhotos": True,
                                        "autoImportFromFolder": False}}, format="json")
    assert good.status_code == 200, good.content
    assert good.json()["settings"]["folderStructure"] == "by_client"
    with tenant_scope(alice.tenant.id):
        plan = plan_for(Integration.objects.get(pk=integration.pk))
    assert plan.containers == ("folder-1",)
    # another tenant cannot reach it
    assert client_for(bob).patch(url, {"settings": {"syncPhotos": False}}, format="json").status_code == 404


def test_the_catalogs_rate_limit_paces_the_calls(alice, fake, monkeypatch):
    """3 calls per second instead of Drive's published quota: the start page token and six
    one-file listing pages wait for later windows, and Drive refuses none."""

    from tests.support.small_bucket import assert_paced_import

    monkeypatch.setattr(drive, "PAGE_SIZE", 1)
    for n in range(6):
        fake.put_file(f"Paced {n}.pdf", b"%PDF paced", parent=ROOT)
    assert_paced_import("google_drive", lambda: connected(alice, direction="import"), fake, alice, files=6, min_calls=7)


def test_a_documents_changed_file_is_uploaded_again_as_a_new_version_of_the_same_file(alice, fake, file_server):
    local_document(alice, "Plans.pdf", file_server.put("plans-v1.pdf", b"%PDF v1"))
    integration = connected(alice, direction="export")
    assert run_sync(integration).summary["created"] == 1
    (remote,) = fake.children(ROOT).values()

    # a metadata change alone uploads no bytes
    with tenant_scope(alice.tenant.id):
        doc = Document.objects.get(tenant=alice.tenant, name="Plans.pdf")
        entity_update(instance=doc, data={"description": "ground floor"}, tenant=alice.tenant, source="api")
    drain_entity_events(str(alice.tenant.id))
    assert run_sync(integration).summary["updated"] == 1
    assert fake.count("PATCH", "/upload/drive/v3/files") == 0 and fake.content[remote["id"]] == b"%PDF v1"

    # a new file: the same Drive file takes the bytes (a new version), nothing is created
    change_file(alice, "Plans.pdf", file_server.put("plans-v2.pdf", b"%PDF v2 revised"))
    entry = run_sync(integration)
    assert entry.status == "success", (entry.error_message, entry.failed_items)
    assert entry.summary["updated"] == 1
    assert set(fake.children(ROOT)) == {"Plans.pdf"} and fake.content[remote["id"]] == b"%PDF v2 revised"
    assert fake.count("PATCH", f"/upload/drive/v3/files/{remote['id']}") == 1
    assert fake.count("POST", "/upload/drive/v3/files") == 1  # the first upload only
    assert int(fake.files[remote["id"]]["version"]) > int(remote["version"])

    # above the simple limit: a resumable update session, in chunks
    large = bytes(range(256)) * (drive.SIMPLE_LIMIT // 256 + 9000)
    change_file(alice, "Plans.pdf", file_server.put("plans-v3.pdf", large))
    assert run_sync(integration).summary["updated"] == 1
    assert fake.content[remote["id"]] == large
    chunks = [r for r in fake.requests if r.method == "PUT"]
    assert len(chunks) == -(-len(large) // drive.CHUNK) and max(r.body_bytes for r in chunks) <= drive.CHUNK

    # the same file again (another run, an unrelated change): not uploaded again
    served = file_server.served
    assert run_sync(integration).summary["updated"] == 0
    assert file_server.served == served


def test_the_same_file_address_replaced_with_a_new_size_is_a_change(alice, fake, file_server):
    url = file_server.put("brief.pdf", b"%PDF brief")
    local_document(alice, "Brief.pdf", url)
    integration = connected(alice, direction="export")
    assert run_sync(integration).summary["created"] == 1
    (remote,) = fake.children(ROOT).values()
    file_server.put("brief.pdf", b"%PDF brief, longer now")
    change_file(alice, "Brief.pdf", url, size_bytes=len(b"%PDF brief, longer now"))
    assert run_sync(integration).summary["updated"] == 1
    assert fake.content[remote["id"]] == b"%PDF brief, longer now"


@pytest.mark.parametrize("policy", ["local_wins", "remote_wins"])
def test_a_file_changed_on_both_sides_follows_the_conflict_policy(alice, fake, file_server, policy):
    local_document(alice, "Plans.pdf", file_server.put("plans-v1.pdf", b"%PDF v1"))
    integration = connected(alice)
    with tenant_scope(alice.tenant.id):
        Integration.objects.filter(pk=integration.pk).update(conflict_policy=policy)
    assert run_sync(integration).summary["created"] == 1
    (remote,) = fake.children(ROOT).values()
    fake.replace_content(remote["id"], b"%PDF marked up in Drive")  # Drive's version moves on
    change_file(alice, "Plans.pdf", file_server.put("plans-v2.pdf", b"%PDF v2 from the studio"))
    with tenant_scope(alice.tenant.id):
        from integrations.sync.exporter import export_pending
        plan = plan_for(Integration.objects.get(pk=integration.pk))
        job = Job(plan=plan, client=ProviderClient.for_integration(plan.integration), report=RunReport())

    export_pending(job)

    assert job.report.failed == 0
    (conflict,) = [c for c in job.report.conflict_items if c.get("field") == "file"]
    doc = documents(alice)["Plans.pdf"]
    if policy == "local_wins":
        assert conflict["winner"] == "local"
        assert fake.content[remote["id"]] == b"%PDF v2 from the studio"
    else:
        assert conflict["winner"] == "remote"
        assert fake.content[remote["id"]] == b"%PDF marked up in Drive"
        assert doc.file_url == fake.files[remote["id"]]["webViewLink"]  # the document's file is Drive's now
    assert set(fake.children(ROOT)) == {"Plans.pdf"}
    # settled: the next run uploads nothing
    uploads = fake.count("PATCH", "/upload/drive/v3/files")
    assert run_sync(integration).status == "success"
    assert fake.count("PATCH", "/upload/drive/v3/files") == uploads


@pytest.mark.parametrize("structure", ["by_client", "by_project"])
def test_folder_structures_name_folders_after_the_documents_client_or_project(alice, fake, file_server, structure):
    from tests.support.factories import client_for

    api = client_for(alice)
    cohen = api.post("/api/clients", {"name": "Cohen Family"}, format="json").json()["id"]
    levi = api.post("/api/clients", {"name": "Levi / Partners"}, format="json").json()["id"]
    specs = [("Plans.pdf", cohen, "Villa Herzliya"), ("Brief.pdf", cohen, "Villa Herzliya"),
             ("Survey.pdf", levi, "Office Tel Aviv"), ("Loose.pdf", None, "")]
    for name, client_id, project in specs:
        created = api.post("/api/documents", {"name": name, "mimeType": "application/pdf", "clientId": client_id,
                                              "projectName": project, "fileUrl": file_server.put(name, b"%PDF")},
                           format="json")
        assert created.status_code == 201, created.content
    assert created.json()["clientName"] is None
    assert api.get("/api/documents?page_size=10").json()["results"][-1]["clientName"] == "Cohen Family"
    drain_entity_events(str(alice.tenant.id))
    integration = connected(alice, direction="export", structure=structure)

    entry = run_sync(integration)

    assert entry.status == "success", (entry.error_message, entry.failed_items)
    folders = {f["name"]: f["id"] for f in fake.files.values() if f["mimeType"] == drive.FOLDER_MIME
               and ROOT in f["parents"]}
    expected = {"by_client": {"Cohen Family": {"Plans.pdf", "Brief.pdf"}, "Levi   Partners": {"Survey.pdf"}},
                "by_project": {"Villa Herzliya": {"Plans.pdf", "Brief.pdf"}, "Office Tel Aviv": {"Survey.pdf"}}}
    assert set(folders) == set(expected[structure])
    for folder, names in expected[structure].items():
        assert set(fake.children(folders[folder])) == names
    assert set(fake.children(ROOT)) - set(folders) == {"Loose.pdf"}  # no client / project: the root folder
    assert len([r for r in fake.requests if (r.method, r.path) == ("POST", "/drive/v3/files")]) == 2  # once each
    with tenant_scope(alice.tenant.id):
        assert ExternalLink.objects.filter(integration=integration, local_type="folder").count() == 2


def test_the_settings_document_kinds_decide_what_is_exported_and_imported(alice, fake, file_server):
    for name, kind in [("Plans.pdf", "document"), ("Offer.pdf", "proposal"), ("Agreement.pdf", "contract"),
                       ("Site.jpg", "photo")]:
        with tenant_scope(alice.tenant.id):
            entity_create(tenant=alice.tenant, entity_type="document", source="api",
                          data={"name": name, "kind": kind, "file_url": file_server.put(name, b"bytes")})
    drain_entity_events(str(alice.tenant.id))
    fake.put_file("Drive plans.pdf", b"%PDF", parent=ROOT)
    fake.put_file("Drive site.jpg", b"\xff\xd8\xff", parent=ROOT, mime="image/jpeg")
    integration = connected(alice)
    with tenant_scope(alice.tenant.id):  # the seed's defaults but documents off: kinds, not the pair, decide
        Integration.objects.filter(pk=integration.pk).update(settings={
            **integration.settings, "syncDocuments": False, "syncProposals": False, "syncContracts": True,
            "syncPhotos": True})

    entry = run_sync(integration)

    assert entry.status == "success", (entry.error_message, entry.failed_items)
    assert set(fake.children(ROOT)) == {"Drive plans.pdf", "Drive site.jpg", "Agreement.pdf", "Site.jpg"}
    docs = documents(alice)
    assert "Drive plans.pdf" not in docs  # a document-kind file, documents off: not imported
    assert docs["Drive site.jpg"].kind == "photo"  # an imported file's kind from its MIME type
    assert docs["Site.jpg"].kind == "photo" and docs["Site.jpg"].file_url == file_server.put("Site.jpg", b"bytes")

    # documents on, photos off: the PDF is imported as a document; linked records keep syncing
    with tenant_scope(alice.tenant.id):
        Integration.objects.filter(pk=integration.pk).update(settings={
            **integration.settings, "syncDocuments": True, "syncProposals": False, "syncPhotos": False})
    fake.put_file("New photo.png", b"\x89PNG", parent=ROOT, mime="image/png")
    fake.edit(fake.children(ROOT)["Drive plans.pdf"]["id"], description="touched")
    assert run_sync(integration, scheduled=True).status == "success"  # a scheduled run queues the unlinked
    docs = documents(alice)
    assert docs["Drive plans.pdf"].kind == "document" and "New photo.png" not in docs
    assert "Offer.pdf" not in fake.children(ROOT) and "Plans.pdf" in fake.children(ROOT)
    assert docs["Site.jpg"].kind == "photo" and docs["Plans.pdf"].kind == "document"  # kinds kept
