"""POST /api/integrations/{id}/sync and GET .../status (DESIGN C12), the sync queue and its
worker line, the beat fan-out, and the run end to end through a real Celery worker with the
WebSocket events a browser would hear."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from architect_studio.celery import app as celery_app
from core.tenant_context import tenant_scope
from entities.models import EntityEvent, Meeting
from integrations.models import ExternalLink, Integration, IntegrationLog, SyncState
from integrations.sync.services import syncs_schedule_due
from tenancy.models import Membership
from tests.support.factories import client_for, persona_in
from tests.support.memory_provider import memory_provider  # noqa: F401 - fixture
from tests.support.paths import ROOT
from tests.support.sync_runs import connect_calendar, event, links, meetings, reload, run_sync
from tests.support.waiting import wait_until


@pytest.fixture
def calendar(memory_provider):  # noqa: F811
    return memory_provider("google_calendar", page_size=2)


def sync_url(integration) -> str:
    return f"/api/integrations/{integration.pk}/sync"


# --------------------------------------------------------------------------- POST /sync
@pytest.mark.django_db
def test_a_sync_is_accepted_once_and_a_second_request_meets_the_running_one(alice, alice_api, calendar):
    integration = connect_calendar(alice)

    first = alice_api.post(sync_url(integration))  # the body is optional
    second = alice_api.post(sync_url(integration), {"full": True}, format="json")

    assert first.status_code == 202
    body = first.json()
    assert body["status"] == "running" and set(body) == {"logId", "status"}
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "sync_running"
    assert second.json()["error"]["logId"] == body["logId"] == second.json()["logId"]
    with tenant_scope(alice.tenant.id):
        runs = list(IntegrationLog.objects.filter(integration=integration))
    assert [(str(r.pk), r.status, r.action) for r in runs] == [(body["logId"], "running", "sync")]


@pytest.mark.django_db
def test_a_member_may_not_start_a_sync_and_another_tenant_sees_nothing(alice, bob, calendar):
    integration = connect_calendar(alice)
    member = client_for(persona_in(alice, "mia@example.com", Membership.Role.MEMBER))

    refused = member.post(sync_url(integration), {}, format="json")
    hidden = client_for(bob).post(sync_url(integration), {}, format="json")
    unknown = client_for(alice).post("/api/integrations/00000000-0000-0000-0000-000000000000/sync", {}, format="json")

    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert hidden.status_code == 404 and unknown.status_code == 404
    with tenant_scope(alice.tenant.id):
        assert not IntegrationLog.objects.filter(integration=integration).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"full": "yes"}, {"fast": True}, {"full": True, "dryRun": True}, [1]])
def test_a_bad_body_is_a_400_and_starts_nothing(alice, alice_api, calendar, body):
    integration = connect_calendar(alice)

    response = alice_api.post(sync_url(integration), body, format="json")

    assert response.status_code == 400, response.json()
    with tenant_scope(alice.tenant.id):
        assert not IntegrationLog.objects.filter(integration=integration).exists()


@pytest.mark.django_db
def test_an_integration_with_nothing_to_sync_says_so(alice, alice_api, calendar):
    integration = connect_calendar(alice)
    with tenant_scope(alice.tenant.id):
        integration.sync_settings = {**integration.sync_settings, "entities": []}
        integration.save()

    response = alice_api.post(sync_url(integration), {}, format="json")

    assert response.status_code == 400 and response.json()["error"]["code"] == "sync_not_configured"


@pytest.mark.django_db
def test_a_dry_run_answers_what_would_change_and_changes_nothing(alice, alice_api, calendar):
    # given two remote events, one already imported and since edited, and one new
    first = calendar.put(None, event("Kickoff"))
    integration = connect_calendar(alice, direction="import")
    run_sync(integration)
    calendar.edit(first, summary="Kickoff (moved)")
    calendar.put(None, event("Review", location="Studio"))
    with tenant_scope(alice.tenant.id):
        cursor = SyncState.objects.get(integration=integration).cursor
        counts = (Meeting.objects.count(), ExternalLink.objects.count(), EntityEvent.objects.count(),
                  IntegrationLog.objects.count())

    # when a dry run is asked for
    response = alice_api.post(sync_url(integration), {"dryRun": True}, format="json")

    # then it answers the changes with their mapped values...
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["dryRun"] is True and body["truncated"] is False
    assert (body["summary"]["created"], body["summary"]["updated"]) == (1, 1)
    by_action = {r["action"]: r for r in body["records"]}
    assert by_action["create"]["values"]["title"] == "Review" and by_action["create"]["values"]["location"] == "Studio"
    assert by_action["update"]["values"] == {"title": "Kickoff (moved)"}
    # ...and nothing changed: records, links, cursor, events, logs
    with tenant_scope(alice.tenant.id):
        assert SyncState.objects.get(integration=integration).cursor == cursor
        assert (Meeting.objects.count(), ExternalLink.objects.count(), EntityEvent.objects.count(),
                IntegrationLog.objects.count()) == counts
    assert set(meetings(alice)) == {"Kickoff"}


# --------------------------------------------------------------------------- GET /status, /logs
@pytest.mark.django_db
def test_status_says_syncing_with_progress_and_the_next_scheduled_sync(alice, alice_api, calendar):
    integration = connect_calendar(alice, frequency="hourly")
    started = alice_api.post(sync_url(integration), {}, format="json").json()
    with tenant_scope(alice.tenant.id):
        IntegrationLog.objects.filter(pk=started["logId"]).update(progress={"done": 250, "total": 1000})

    while_running = alice_api.get(f"/api/integrations/{integration.pk}/status").json()

    assert while_running["syncing"] is True and while_running["progress"] == {"done": 250, "total": 1000}
    with tenant_scope(alice.tenant.id):
        IntegrationLog.objects.filter(pk=started["logId"]).delete()
    run = run_sync(integration)
    after = alice_api.get(f"/api/integrations/{integration.pk}/status").json()
    assert after["syncing"] is False and after["progress"] is None and after["lastSyncStatus"] == "success"
    last = reload(integration).last_sync_at
    assert datetime.fromisoformat(after["nextSyncAt"]) == last + timedelta(hours=1)
    logs = alice_api.get(f"/api/integrations/{integration.pk}/logs").json()["results"]
    assert logs[0]["id"] == str(run.pk) and logs[0]["summary"]["total"] == 0 and logs[0]["status"] == "success"


@pytest.mark.django_db
def test_next_sync_of_a_realtime_import_is_the_poll_or_the_push_safety_sync(alice, alice_api):
    from integrations.models import PushChannel

    polled = connect_calendar(alice, frequency="realtime", direction="import", provider="apple_calendar")
    pushed = connect_calendar(alice, frequency="realtime", direction="import", provider="google_calendar")
    export_only = connect_calendar(alice, frequency="realtime", direction="export", provider="outlook_calendar")
    last = timezone.now().replace(microsecond=0) - timedelta(minutes=1)
    with tenant_scope(alice.tenant.id):
        Integration.objects.filter(tenant=alice.tenant).update(last_sync_at=last)
        PushChannel.objects.create(tenant=alice.tenant, integration=pushed, kind=PushChannel.Kind.GOOGLE,
                                   container="primary", channel_id="ch-1", expires_at=timezone.now() + timedelta(days=1))

    def next_at(integration):
        return alice_api.get(f"/api/integrations/{integration.pk}/status").json()["nextSyncAt"]

    # CalDAV has no push: polled every 5 minutes; a pushed calendar gets its safety sync after an hour;
    # a realtime export is driven by local changes only
    assert datetime.fromisoformat(next_at(polled)) == last + timedelta(minutes=5)
    assert datetime.fromisoformat(next_at(pushed)) == last + timedelta(hours=1)
    assert next_at(export_only) is None


# --------------------------------------------------------------------------- queue, worker line, beat
def test_sync_tasks_have_their_own_queue_and_worker_line():
    routes = settings.CELERY_TASK_ROUTES
    assert routes["integrations.tasks.sync_run"] == {"queue": "sync"}
    assert routes["integrations.tasks.sync_export"] == {"queue": "sync"}
    router = celery_app.amqp.router
    assert router.route({}, "integrations.tasks.sync_run")["queue"].name == "sync"
    assert router.route({}, "webhooks.outgoing.tasks.dispatch_deliveries")["queue"].name == "celery"
    lines = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert " -Q sync " in lines["sync"] and "-n sync@" in lines["sync"]
    assert " -Q celery " in lines["worker"]  # the default worker never takes a sync run
    celery_app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in celery_app.tasks, entry


@pytest.mark.django_db(transaction=True)
def test_the_beat_fan_out_starts_the_hourly_runs_that_are_due(alice, bob, calendar):
    due = connect_calendar(alice, frequency="hourly")
    not_yet = connect_calendar(bob, frequency="daily")
    with tenant_scope(bob.tenant.id):
        type(not_yet).objects.filter(pk=not_yet.pk).update(last_sync_at=timezone.now())

    result = syncs_schedule_due(now=timezone.now() + timedelta(hours=1, minutes=1))

    assert result["started"] == 1
    with tenant_scope(alice.tenant.id):
        assert IntegrationLog.objects.filter(integration=due, status="running").count() == 1
    with tenant_scope(bob.tenant.id):
        assert not IntegrationLog.objects.filter(integration=not_yet).exists()


# --------------------------------------------------------------------------- end to end
def test_a_run_goes_through_the_sync_worker_and_the_browser_hears_it(sync_worker, tenant_events, calendar):
    from tests.support.factories import make_persona

    alice = make_persona("Alice Studio", "alice@example.com")
    for n in range(3):
        calendar.put(None, event(f"Meeting {n}"))
    integration = connect_calendar(alice, direction="import")
    events = tenant_events(alice.tenant.id)  # subscribed before the action

    response = client_for(alice).post(sync_url(integration), {}, format="json")

    assert response.status_code == 202
    log_id = response.json()["logId"]
    started = events.wait_for("integration.sync_started")
    assert started["data"]["logId"] == log_id and started["data"]["integrationId"] == str(integration.pk)
    progress = events.wait_for("integration.sync_progress")
    assert progress["data"]["logId"] == log_id and progress["data"]["done"] == 2
    completed = events.wait_for("integration.sync_completed", timeout=20)
    assert completed["data"]["summary"] == {"total": 3, "created": 3, "updated": 0, "deleted": 0, "skipped": 0,
                                            "failed": 0, "conflicts": 0}
    assert completed["data"]["status"] == "success"
    assert len(meetings(alice)) == 3


def test_a_failed_run_is_published_as_sync_failed(sync_worker, tenant_events, calendar):
    from tests.support.factories import make_persona

    alice = make_persona("Alice Studio", "alice@example.com")
    calendar.put(None, event("Meeting"))
    calendar.fail_on_page = 1
    integration = connect_calendar(alice, direction="import")
    events = tenant_events(alice.tenant.id)

    log_id = client_for(alice).post(sync_url(integration), {}, format="json").json()["logId"]

    failed = events.wait_for("integration.sync_failed", timeout=20)
    assert failed["data"]["logId"] == log_id and "listing call 1 failed" in failed["data"]["error"]
    assert reload(integration).last_sync_status == "failed"


def test_a_realtime_local_change_reaches_the_provider_within_10_seconds(sync_worker, calendar):
    from tests.support.factories import make_persona

    alice = make_persona("Alice Studio", "alice@example.com")
    integration = connect_calendar(alice, frequency="realtime")
    with tenant_scope(alice.tenant.id):
        type(integration).objects.filter(pk=integration.pk).update(total_syncs=1)  # past its first run

    created = client_for(alice).post("/api/meetings", {
        "title": "Client visit", "startTime": "2026-12-12T09:00:00+02:00", "endTime": "2026-12-12T10:00:00+02:00",
    }, format="json")

    assert created.status_code == 201, created.json()
    wait_until(lambda: calendar.live(), 10, what="the meeting at the provider")
    (remote,) = calendar.live().values()
    assert remote["summary"] == "Client visit"
    assert calendar.hub_id(remote["id"]) == created.json()["id"]
    wait_until(lambda: links(integration), 5, what="the link")


@pytest.mark.django_db
def test_a_sync_that_is_turned_off_can_be_previewed_but_not_run(alice, alice_api, calendar):
    calendar.put(None, event("Kickoff"))
    integration = connect_calendar(alice, direction="import", enabled=False)

    run = alice_api.post(sync_url(integration), {}, format="json")
    preview = alice_api.post(sync_url(integration), {"dryRun": True}, format="json")

    assert run.status_code == 400 and run.json()["error"]["code"] == "sync_not_configured"
    assert preview.status_code == 200 and preview.json()["summary"]["created"] == 1
    assert meetings(alice) == {}


def test_the_sweeper_hands_a_dead_workers_run_back_to_the_sync_queue(sync_worker, calendar, settings):
    from integrations.sync.runs import run_start, runs_sweep_stale
    from integrations.sync.services import sync_execute
    from tests.support.factories import make_persona
    from tests.support.memory_provider import ProviderDown

    # given a run whose worker died after committing its first page (SystemExit: nothing records an end)
    alice = make_persona("Alice Studio", "alice@example.com")
    for n in range(5):
        calendar.put(f"evt{n}", event(f"Meeting {n}"))
    integration = connect_calendar(alice, direction="import")
    with tenant_scope(alice.tenant.id):
        # The row only (no task queued): this thread plays the worker that dies.
        entry = run_start(integration=integration, direction="import", options={})
    calendar.fail_on_page, original = 2, calendar.list_changes

    def dies(container, cursor):
        try:
            return original(container, cursor)
        except ProviderDown:
            raise SystemExit("worker killed") from None

    calendar.list_changes = dies
    try:
        sync_execute(log_id=entry.pk, tenant_id=alice.tenant.id)
    except SystemExit:
        pass
    calendar.list_changes, calendar.fail_on_page = original, None

    # when its heartbeat is stale and the sweeper runs
    swept = runs_sweep_stale(now=timezone.now() + timedelta(seconds=settings.SYNC_RUN_STALE_SECONDS + 1))

    # then the sync worker resumes it from the stored cursor and ends it; nothing is duplicated
    assert swept.requeued == [str(entry.pk)]

    def finished():
        with tenant_scope(alice.tenant.id):
            row = IntegrationLog.objects.get(pk=entry.pk)
        return row if row.status != "running" else None

    row = wait_until(finished, 20, what="the resumed run to end")
    assert row.status == "success" and row.summary["created"] == 3
    assert sorted(meetings(alice)) == [f"Meeting {n}" for n in range(5)]
