"""Dropbox documents <-> files through the sync engine, with the real adapter and the hub's
ProviderClient against the fake Dropbox API v2 (tests/support/fakes/dropbox.py, whose requests
and answers are checked by Dropbox's own SDK) and a local file server for the platform's files."""

from __future__ import annotations

import pytest

from core.tenant_context import tenant_scope
from integrations.models import Integration
from integrations.providers.dropbox import adapter as dropbox_adapter
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
    sync_on_worker,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis", "local_targets")]

ROOT = "/Architect Studio"


@pytest.fixture
def fake(dropbox_fake):
    provider_app_set(provider_id="dropbox", client_id="dbx-app-key", client_secret="dbx-app-secret",
                     api_base_url=dropbox_fake.base_url)
    dropbox_fake.add_folder(ROOT)
    return dropbox_fake


def connected(persona, *, direction: str = "bidirectional") -> Integration:
    integration = make_oauth_integration(persona, "dropbox", access="sl.u.AbCdEf")
    with tenant_scope(persona.tenant.id):
        integration.settings = {"rootFolderId": ROOT, "rootFolderName": "Architect Studio", "folderStructure": "flat"}
        integration.sync_settings = {
            "enabled": True, "direction": direction, "frequency": "manual", "fieldMappings": [], "filters": [],
            "entities": [{"localEntity": "document", "remoteEntity": "file", "enabled": True, "direction": direction}]}
        integration.save()
    return integration


def test_cursor_pages_follow_renames_moves_out_and_deletions_and_a_reset_relists(alice, fake, monkeypatch):
    monkeypatch.setattr(dropbox_adapter, "PAGE_SIZE", 2)
    plans = fake.put_file(f"{ROOT}/Plans.pdf", b"%PDF plans")
    photo = fake.put_file(f"{ROOT}/Site.jpg", b"\xff\xd8" * 50)
    contract = fake.put_file(f"{ROOT}/Contract.pdf", b"%PDF contract")
    fake.put_file("/Elsewhere.pdf", b"x")
    integration = connected(alice, direction="import")

    first = run_sync(integration)
    assert first.status == "success", first.error_message
    assert first.summary["created"] == 3
    docs = documents(alice)
    assert (docs["Site.jpg"].mime_type, docs["Site.jpg"].size_bytes) == ("image/jpeg", 100)
    assert docs["Plans.pdf"].file_url == "https://www.dropbox.com/home/Architect%20Studio?preview=Plans.pdf"
    assert fake.count("/2/files/list_folder/continue") >= 1  # has_more: paged

    fake.move(plans["id"], f"{ROOT}/Plans v2.pdf")
    fake.move(photo["id"], "/Elsewhere/Site.jpg")
    fake.delete(contract["id"])
    second = run_sync(integration)
    assert second.status == "success", second.error_message
    assert (second.summary["created"], second.summary["updated"], second.summary["deleted"]) == (0, 1, 2)
    assert set(documents(alice)) == {"Plans v2.pdf"}

    fake.put_file(f"{ROOT}/Brief.docx", b"brief")
    fake.reset_cursors()
    third = run_sync(integration)
    assert third.status == "success", third.error_message
    assert fake.count("/2/files/list_folder/continue", status=409) == 1
    assert set(documents(alice)) == {"Plans v2.pdf", "Brief.docx"} and third.summary["created"] == 1


def test_export_uploads_small_files_in_one_request_and_large_ones_in_a_session(alice, fake, file_server):
    small = b"%PDF small" * 10
    large = bytes(range(256)) * (dropbox_adapter.SIMPLE_LIMIT // 256 + 5000)
    local_document(alice, "Small.pdf", file_server.put("small.pdf", small))
    local_document(alice, "Large.dwg", file_server.put("large.dwg", large))
    integration = connected(alice, direction="export")

    entry = run_sync(integration)

    assert entry.status == "success", (entry.error_message, entry.failed_items)
    assert fake.by_path(f"{ROOT}/Small.pdf")["data"] == small
    assert fake.by_path(f"{ROOT}/Large.dwg")["data"] == large
    assert fake.count("/2/files/upload") == 4  # upload; session start, one append, finish
    sent = [r.body_bytes for r in fake.requests if r.path.startswith("/2/files/upload_session")]
    assert max(sent) <= dropbox_adapter.CHUNK
    assert run_sync(integration).status == "success" and fake.count("/2/files/upload") == 4


def test_a_rename_meets_a_newer_rev_merges_first(alice, fake):
    integration = connected(alice)
    local_document(alice, "Plans.pdf")
    assert run_sync(integration).summary["created"] == 1
    remote = fake.by_path(f"{ROOT}/Plans.pdf")
    fake.edit(remote["id"], b"%PDF marked up")  # a new rev in Dropbox
    local_rename(alice, "Plans.pdf", "Plans (final).pdf")
    job = export_job(integration)

    export_pending(job)

    assert job.report.failed == 0
    assert fake.by_path(f"{ROOT}/Plans (final).pdf")["data"] == b"%PDF marked up"
    assert documents(alice)["Plans (final).pdf"].size_bytes == len(b"%PDF marked up")  # the merge took Dropbox's size
    assert fake.count("/2/files/get_metadata") >= 2


def test_error_mapping_auth_expired_429_backoff_5xx_retry_4xx_failed_item(alice, fake, file_server, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    provider_app_set(provider_id="dropbox", token_url=f"{fake.base_url}/oauth2/token")
    integration = connected(alice)
    fake.put_file(f"{ROOT}/Plans.pdf", b"plans")
    fake.fail_next(429, {"error_summary": "too_many_requests/..", "error": {"reason": {".tag": "too_many_requests"},
                                                                           "retry_after": 1}},
                   path="/2/files/list_folder", headers={"Retry-After": "1"})
    fake.fail_next(503, "", path="/2/files/list_folder")
    entry = run_sync(integration)
    assert entry.status == "success", entry.error_message
    assert fake.count(status=429) == 1 and fake.count(status=503) == 1 and "Plans.pdf" in documents(alice)

    local_document(alice, "Refused.pdf", file_server.put("r.pdf", b"r"))
    fake.fail_next(400, 'Error in call to API function "files/upload": HTTP header "Dropbox-API-Arg": bad',
                   path="/2/files/upload")
    failed = run_sync(integration)
    assert failed.status == "partial" and failed.summary["failed"] == 1
    assert "HTTP 400" in failed.failed_items[0]["error"] and len(pending(integration)) == 1

    fake.fail_next(401, {"error_summary": "expired_access_token/..", "error": {".tag": "expired_access_token"}},
                   path="/2/files/list_folder")
    expired = run_sync(integration)
    assert expired.status == "failed" and expired.error_code == "provider_expired"
    with tenant_scope(alice.tenant.id):
        assert Integration.objects.get(pk=integration.pk).status == Integration.Status.EXPIRED


def test_a_sync_asked_for_through_the_api_runs_on_the_real_worker(alice, fake, file_server, sync_worker):
    """POST /api/integrations/{id}/sync -> the sync queue -> the real worker: the folder's file
    becomes a document and the tenant's document is uploaded, in one run."""

    fake.put_file(f"{ROOT}/From Dropbox.pdf", b"%PDF dbx")
    local_document(alice, "From the hub.pdf", file_server.put("hub.pdf", b"%PDF hub"))
    integration = connected(alice)

    entry = sync_on_worker(alice, integration)
    assert entry["status"] == "success", entry
    assert (entry["summary"]["created"]) == 2
    assert "From Dropbox.pdf" in documents(alice)
    assert fake.by_path(f"{ROOT}/From the hub.pdf")["data"] == b"%PDF hub"


def test_the_app_webhook_checks_the_challenge_and_signature_and_wakes_the_accounts_integrations(transactional_db, alice,
                                                                                               bob, fake, monkeypatch):
    """https://www.dropbox.com/developers/reference/webhooks: GET ?challenge= echoed (text/plain,
    nosniff); POST signed X-Dropbox-Signature = hex HMAC-SHA256(app secret, body) naming the
    accounts that changed: each connected realtime integration of those accounts gets a run.
    (transactional: the account lookup reads through the operator alias, another connection.)"""
    import hashlib
    import hmac
    import json

    from django.test import Client

    from integrations.models import IntegrationLog
    from integrations.sync import app_push
    from integrations.tasks import app_push_wake

    queued = []
    monkeypatch.setattr(app_push, "enqueue", lambda task, *, args, **options: queued.append((task, args)))
    web = Client()
    url = "/api/integrations/push/app/dropbox"
    challenge = web.get(url, {"challenge": "9yz3J8Q2"})
    assert (challenge.status_code, challenge.content, challenge["X-Content-Type-Options"]) == (200, b"9yz3J8Q2",
                                                                                             "nosniff")
    assert challenge["Content-Type"].startswith("text/plain")
    mine, theirs = connected(alice), connected(bob)
    for integration, account in ((mine, "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"), (theirs, "dbid:other")):
        with tenant_scope(integration.tenant_id):
            Integration.objects.filter(pk=integration.pk).update(
                connection_config={"account_id": account},
                sync_settings={**integration.sync_settings, "frequency": "realtime"})
    body = json.dumps({"list_folder": {"accounts": ["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]},
                       "delta": {"users": [12345678]}}).encode()
    forged = web.post(url, body, content_type="application/json", HTTP_X_DROPBOX_SIGNATURE="0" * 64)
    assert forged.status_code == 401

    signature = hmac.new(b"dbx-app-secret", body, hashlib.sha256).hexdigest()
    answer = web.post(url, body, content_type="application/json", HTTP_X_DROPBOX_SIGNATURE=signature)

    assert answer.status_code == 200
    # the fan-out is a task (issue 15 review): the request only queued it
    assert queued == [("integrations.tasks.app_push_wake", ["dropbox", ["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]])]
    app_push_wake(*queued[0][1])
    with tenant_scope(alice.tenant.id):
        assert IntegrationLog.objects.filter(integration=mine, status="running").count() == 1
    with tenant_scope(bob.tenant.id):
        assert not IntegrationLog.objects.filter(integration=theirs).exists()


def test_the_app_webhook_signature_matches_a_published_vector(alice, fake):
    """The third-party vector restated in shared/reference/providers.md (hapi-dropbox-webhooks):
    secret the_secret, body {"delta": {"users": [12345]}} -> 0a8c16b0...; accepted (not 401),
    then refused as naming no list_folder accounts (400)."""
    from django.test import Client

    provider_app_set(provider_id="dropbox", client_secret="the_secret")
    answer = Client().post("/api/integrations/push/app/dropbox", b'{"delta": {"users": [12345]}}',
                           content_type="application/json",
                           HTTP_X_DROPBOX_SIGNATURE="0a8c16b085420b960dc78664279fe09e936a2a01b1f91064869d9e77dfd64529")
    assert answer.status_code == 400


def _signed_app_push(accounts: list[str]):
    import hashlib
    import hmac
    import json

    from django.test import Client

    body = json.dumps({"list_folder": {"accounts": accounts}, "delta": {"users": [1]}}).encode()
    return Client().post("/api/integrations/push/app/dropbox", body, content_type="application/json",
                         HTTP_X_DROPBOX_SIGNATURE=hmac.new(b"dbx-app-secret", body, hashlib.sha256).hexdigest())


def test_the_app_webhook_answers_without_doing_the_per_integration_work(transactional_db, alice, fake, monkeypatch):
    """Up to 500 integrations may share the named accounts: the request only hands the accounts
    to a task (by name, through core.kick.enqueue) and answers; no integration is read or woken."""
    from integrations.sync import app_push

    queued, woken = [], []
    monkeypatch.setattr(app_push, "enqueue", lambda task, *, args, **options: queued.append((task, args)))
    monkeypatch.setattr(app_push, "sync_wake", lambda **kw: woken.append(kw) or True)
    integration = connected(alice)
    with tenant_scope(alice.tenant.id):
        Integration.objects.filter(pk=integration.pk).update(
            connection_config={"account_id": "dbid:A"}, sync_settings={**integration.sync_settings,
                                                                       "frequency": "realtime"})

    answer = _signed_app_push(["dbid:A", "dbid:A"])

    assert answer.status_code == 200
    assert queued == [("integrations.tasks.app_push_wake", ["dropbox", ["dbid:A"]])]
    assert woken == []


def test_the_app_webhook_answers_503_when_the_task_cannot_be_queued(transactional_db, alice, fake, monkeypatch):
    """Dropbox retries a failed notification; a lost one would wait for the next change."""
    from integrations.sync import app_push

    def refuse(task, *, args, **options):
        raise ConnectionError("broker down")

    monkeypatch.setattr(app_push, "enqueue", refuse)
    assert _signed_app_push(["dbid:A"]).status_code == 503


def test_the_app_push_task_wakes_each_matching_integration_once(transactional_db, alice, bob, fake):
    """Each connected, realtime integration of a named account gets one run, whichever tenant it
    is in and however often its account is named; others get none."""
    from integrations.models import IntegrationLog
    from integrations.tasks import app_push_wake
    from tests.support.factories import make_persona

    rows = {}
    for name, account, frequency, status in (
            ("alice_a", "dbid:A", "realtime", "connected"), ("bob_a", "dbid:A", "realtime", "connected"),
            ("carol_b", "dbid:B", "realtime", "connected"), ("hourly", "dbid:A", "hourly", "connected"),
            ("expired", "dbid:A", "realtime", "expired"), ("other", "dbid:C", "realtime", "connected")):
        persona = {"alice_a": alice, "bob_a": bob}.get(name) or make_persona(f"Studio {name}", f"{name}@example.com")
        integration = connected(persona)
        with tenant_scope(persona.tenant.id):
            Integration.objects.filter(pk=integration.pk).update(
                connection_config={"account_id": account}, status=status,
                sync_settings={**integration.sync_settings, "frequency": frequency})
        rows[name] = integration

    started = app_push_wake("dropbox", ["dbid:A", "dbid:B", "dbid:A"])

    def runs(integration):
        with tenant_scope(integration.tenant_id):
            return IntegrationLog.objects.filter(integration=integration, action="sync").count()

    assert {name: runs(i) for name, i in rows.items()} == {
        "alice_a": 1, "bob_a": 1, "carol_b": 1, "hourly": 0, "expired": 0, "other": 0}
    assert started == 3


def test_the_catalogs_rate_limit_paces_the_calls(alice, fake, monkeypatch):
    """3 calls per second instead of the catalog's: six one-file listing pages wait for later
    windows, and Dropbox refuses none."""

    from tests.support.small_bucket import assert_paced_import

    monkeypatch.setattr(dropbox_adapter, "PAGE_SIZE", 1)
    for n in range(6):
        fake.put_file(f"{ROOT}/Paced {n}.pdf", b"%PDF paced")
    assert_paced_import("dropbox", lambda: connected(alice, direction="import"), fake, alice, files=6, min_calls=6)


def test_a_documents_changed_file_is_uploaded_again_with_mode_update_and_its_rev(alice, fake, file_server):
    local_document(alice, "Plans.pdf", file_server.put("plans-v1.pdf", b"%PDF v1"))
    integration = connected(alice, direction="export")
    assert run_sync(integration).summary["created"] == 1
    remote = fake.by_path(f"{ROOT}/Plans.pdf")

    change_file(alice, "Plans.pdf", file_server.put("plans-v2.pdf", b"%PDF v2 revised"))
    entry = run_sync(integration)
    assert entry.status == "success", (entry.error_message, entry.failed_items)
    assert entry.summary["updated"] == 1
    now = fake.by_path(f"{ROOT}/Plans.pdf")
    assert now["id"] == remote["id"] and now["data"] == b"%PDF v2 revised" and now["rev"] != remote["rev"]
    assert len(fake.files) == 1  # the same file, a new version: nothing renamed or added
    assert run_sync(integration).summary["updated"] == 0  # uploaded once


@pytest.mark.parametrize("policy", ["local_wins", "remote_wins"])
def test_a_file_changed_on_both_sides_follows_the_conflict_policy(alice, fake, file_server, policy):
    local_document(alice, "Plans.pdf", file_server.put("plans-v1.pdf", b"%PDF v1"))
    integration = connected(alice)
    with tenant_scope(alice.tenant.id):
        Integration.objects.filter(pk=integration.pk).update(conflict_policy=policy)
    assert run_sync(integration).summary["created"] == 1
    remote = fake.by_path(f"{ROOT}/Plans.pdf")
    fake.edit(remote["id"], b"%PDF marked up in Dropbox")
    change_file(alice, "Plans.pdf", file_server.put("plans-v2.pdf", b"%PDF v2 from the studio"))
    job = export_job(integration)

    export_pending(job)

    assert job.report.failed == 0
    (conflict,) = [c for c in job.report.conflict_items if c.get("field") == "file"]
    expected = b"%PDF v2 from the studio" if policy == "local_wins" else b"%PDF marked up in Dropbox"
    assert conflict["winner"] == policy.split("_")[0]
    assert fake.by_path(f"{ROOT}/Plans.pdf")["data"] == expected and len(fake.files) == 1
