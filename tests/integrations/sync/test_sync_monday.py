"""monday.com through the sync engine (issue 16 items 3 and 6): the board and columns chosen in
settings, its items <-> tasks (status label and text column mapped), items_page with the
last-updated rule and next_items_page cursors (pages, expired cursor relists), the complexity
budget honoured, errors mapped -- the real adapter and ProviderClient against
tests/support/fakes/monday.py (shaped as the pages it names)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import translation

from core.tenant_context import tenant_scope
from entities.models import Task
from entities.services import entity_create, entity_update
from integrations.models import Integration
from integrations.providers.monday import adapter as md
from integrations.services import provider_app_set
from tests.support.fakes.monday import BOARD, ORIGIN, monday_fake  # noqa: F401 - fixture
from tests.support.oauth import make_oauth_integration
from tests.support.sync_runs import drain_entity_events, links, reload, run_sync, set_cursor, sync_on_worker

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis")]
SETTINGS = {"boardId": BOARD, "columns": {"status": "status", "dueDate": "date4", "description": "text0"},
            "statusLabels": {"todo": "", "in_progress": "Working on it", "done": "Done", "cancelled": "Stuck"}}


@pytest.fixture
def fake(monday_fake, monkeypatch):  # noqa: F811
    monkeypatch.setattr(md, "PAGE_SIZE", 2)
    provider_app_set(provider_id="monday", client_id="mid", client_secret="ms", api_base_url=ORIGIN)
    return monday_fake


@pytest.fixture
def slept(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(md.MondayAdapter, "sleep", staticmethod(waits.append))
    monkeypatch.setattr(md, "BUDGET_UNTIL", {})
    return waits


def connected(persona, fake, settings: dict | None = None) -> Integration:
    integration = make_oauth_integration(persona, "monday", access=fake.token, refresh="monday-refresh")
    with tenant_scope(persona.tenant.id):
        integration.settings = {**md.MondayAdapter.__new__(md.MondayAdapter).settings_defaults(), **SETTINGS,
                                **(settings or {})}
        integration.sync_settings = {"enabled": True, "direction": "bidirectional", "frequency": "manual",
                                     "fieldMappings": [], "filters": [], "entities": [
                                         {"localEntity": "task", "remoteEntity": "item", "enabled": True,
                                          "direction": "bidirectional"}]}
        integration.save()
    return integration


def tasks(persona) -> dict[str, Task]:
    with tenant_scope(persona.tenant.id):
        return {t.title: t for t in Task.objects.filter(tenant=persona.tenant)}


def add_task(persona, **data) -> Task:
    with tenant_scope(persona.tenant.id):
        made = entity_create(tenant=persona.tenant, entity_type="task", source="api", data=data)
    drain_entity_events(str(persona.tenant.id))
    return made


def test_items_page_in_as_tasks_with_columns_mapped_then_only_recent_items(alice, fake, slept):
    made = [fake.put(f"Plan {n}", status="Done" if n == 0 else "Working on it", text=f"floor {n}") for n in range(5)]
    integration = connected(alice, fake)

    first = run_sync(integration)

    assert first.status == "success", first.error_message
    assert first.summary["created"] == 5
    got = tasks(alice)
    assert (got["Plan 0"].status, got["Plan 1"].status, got["Plan 1"].description) == ("done", "in_progress",
                                                                                       "floor 1")
    queries = [c["query"] for c in fake.calls]
    assert sum("next_items_page" in q for q in queries) == 2 and all("complexity" in q for q in queries)

    fake.now += timedelta(days=3)
    fake.touch(made[2], status="Stuck")
    second = run_sync(integration)

    assert second.summary["updated"] == 1 and tasks(alice)["Plan 2"].status == "cancelled"
    (rule,) = [c["query"] for c in fake.calls[-3:] if "items_page(" in c["query"] and "next_" not in c["query"]]
    assert '"__last_updated__"' in rule and '"EXACT", "2026-11-30"' in rule  # the day before the newest seen


def test_an_expired_cursor_relists_without_duplicates(alice, fake, slept, monkeypatch):
    for n in range(3):
        fake.put(f"Item {n}")
    integration = connected(alice, fake)
    run_sync(integration)
    set_cursor(integration, '{"page": "MSwexpired"}', remote_container=BOARD)

    entry = run_sync(integration)

    assert entry.status == "success", entry.error_message
    assert len(tasks(alice)) == 3 and len(links(integration)) == 3 and entry.summary["created"] == 0


def test_a_low_complexity_budget_waits_for_the_reset_and_an_exhausted_one_is_waited_out(alice, fake, slept):
    fake.put("Budget item")
    integration = connected(alice, fake)
    fake.budget = md.MIN_BUDGET + 5_000  # the first answer leaves less than the adapter keeps in hand
    fake.exhausted = 1

    entry = run_sync(integration)

    assert entry.status == "success", entry.error_message
    assert fake.statuses[0] == 429  # COMPLEXITY_BUDGET_EXHAUSTED, waited out by the client and asked again
    assert set(tasks(alice)) == {"Budget item"}
    assert slept == []
    fake.put("Second")
    run_sync(integration)
    assert len(slept) == 1 and 0 < slept[0] <= 42  # the low budget: waited for reset_in_x_seconds first


def test_tasks_go_out_as_items_with_column_values_and_a_refused_label_is_a_failed_item(alice, fake, slept):
    integration = connected(alice, fake)
    run_sync(integration)
    add_task(alice, title="Order tiles", status="in_progress", description="Bathroom")
    bad = add_task(alice, title="Odd one")
    with tenant_scope(alice.tenant.id):
        integration.settings = {**integration.settings, "statusLabels": {**SETTINGS["statusLabels"], "todo": "Nope"}}
        integration.save()

    entry = run_sync(integration)

    assert entry.status == "partial" and entry.summary["failed"] == 1
    assert "ColumnValueException" in entry.failed_items[0]["error"]
    (item,) = [i for i in fake.items.values()]
    assert item["name"] == "Order tiles"
    assert (fake.column(item["id"], "status"), fake.column(item["id"], "text0")) == ("Working on it", "Bathroom")
    assert bad.pk not in {link.local_id for link in links(integration)}

    with tenant_scope(alice.tenant.id):
        entity_update(tenant=alice.tenant, instance=tasks(alice)["Order tiles"], data={"status": "done"},
                      source="api")
    drain_entity_events(str(alice.tenant.id))
    run_sync(integration)
    assert fake.column(item["id"], "status") == "Done"


def test_a_revoked_token_expires_the_integration_and_5xx_is_retried(alice, fake, slept):
    fake.put("Retry me")
    integration = connected(alice, fake)
    fake.failures = [502]
    assert run_sync(integration).status == "success" and 502 in fake.statuses
    fake.token = "revoked"
    entry = run_sync(integration)
    assert entry.error_code == "provider_expired" and reload(integration).status == Integration.Status.EXPIRED


def test_settings_refuse_bad_board_and_columns():
    adapter = md.MondayAdapter.__new__(md.MondayAdapter)
    assert adapter.settings_errors(SETTINGS) == {}
    with translation.override("en"):  # the messages follow the active language (Hebrew by default)
        assert adapter.settings_errors({"boardId": "x1", "columns": {"owner": "p"}, "statusLabels": {"late": "L"}}) == {
            "boardId": ["a board id (digits)"], "columns": ["column ids for status, dueDate and description"],
            "statusLabels": ["labels for: todo, in_progress, done, cancelled"]}
        # one label for two statuses (whatever its case): an item showing it could be either
        shared = {"todo": "", "in_progress": "Working on it", "done": "Done", "cancelled": " done "}
        assert adapter.settings_errors({"statusLabels": shared}) == {
            "statusLabels": ["each status needs a label of its own: done, cancelled"]}
        assert adapter.settings_errors({"statusLabels": {**shared, "cancelled": "", "todo": ""}}) == {}  # empty twice: fine


@pytest.mark.django_db(transaction=True)
def test_a_sync_asked_for_through_the_api_runs_on_the_real_worker(alice, fake, slept, sync_worker):
    fake.put("Site visit", status="Done")
    integration = connected(alice, fake)
    with tenant_scope(alice.tenant.id):
        entity_create(tenant=alice.tenant, entity_type="task", source="api", data={"title": "Send plans"})

    entry = sync_on_worker(alice, integration, seconds=60)
    assert entry["status"] == "success", entry
    assert tasks(alice)["Site visit"].status == "done"
    assert {i["name"] for i in fake.items.values()} == {"Site visit", "Send plans"}


# ---------------------------------------------------------------------------- webhooks (issue 16)
# https://developer.monday.com/api-reference/docs/webhooks : the URL check POSTs {"challenge"}
# and wants the same JSON back; events are POSTed as {"event": {...}}. App webhooks carry an
# HS256 JWT in Authorization signed with the app's signing secret; the hub's URL always carries
# the integration's secret too (webhooks made without an app signing secret carry no JWT).
EVENT = {"event": {"userId": 9603417, "originalTriggerUuid": None, "boardId": int(BOARD), "pulseId": 9000001,
                   "pulseName": "Site visit", "groupId": "topics", "columnId": "status", "columnType": "color",
                   "value": {"label": {"index": 1, "text": "Done"}}, "previousValue": None,
                   "changedAt": 1764576000.0125613, "isTopGroup": True, "app": "monday",
                   "type": "update_column_value", "triggerTime": "2026-12-01T08:00:00.440Z",
                   "subscriptionId": 73759690, "triggerUuid": "b5ed2e17c530f43668de130142445cba"}}


def _hook(integration) -> tuple[str, str]:
    from urllib.parse import urlsplit

    from integrations.sync.hooks import hook_url

    url = hook_url(integration)
    parts = urlsplit(url)
    assert parts.query.startswith("secret=")
    return url, f"{parts.path}?{parts.query}"


def _sync_rows(integration):
    from integrations.models import IntegrationLog

    with tenant_scope(integration.tenant_id):
        return list(IntegrationLog.objects.filter(integration=integration, action="sync"))


@pytest.mark.django_db(transaction=True)  # the endpoint finds the integration on the operator connection
def test_the_challenge_is_echoed_and_an_event_wakes_a_run(alice, fake, api):
    integration = connected(alice, fake)
    _url, path = _hook(integration)

    challenge = api.post(path, data={"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"},
                         format="json")
    assert challenge.status_code == 200
    assert challenge.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert _sync_rows(integration) == []

    response = api.post(path, data=EVENT, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["started"] is True
    assert [r.status for r in _sync_rows(integration)] == ["running"]


@pytest.mark.django_db(transaction=True)
def test_an_event_without_the_url_secret_is_refused(alice, fake, api):
    integration = connected(alice, fake)
    for path in (f"/api/integrations/hooks/{integration.pk}", f"/api/integrations/hooks/{integration.pk}?secret=no"):
        assert api.post(path, data=EVENT, format="json").status_code == 401
    assert _sync_rows(integration) == []


@pytest.mark.django_db(transaction=True)
def test_with_an_app_signing_secret_the_jwt_is_required_too(alice, fake, api, settings):
    """Checked with PyJWT (shared/reference/providers.md: monday has no SDK helper): HS256 with
    the signing secret, ``aud`` = the endpoint URL, ``exp``."""
    import time

    import jwt

    settings.MONDAY_APP_SIGNING_SECRET = "monday-signing-secret-0123456789"
    integration = connected(alice, fake)
    url, path = _hook(integration)
    assert api.post(path, data=EVENT, format="json").status_code == 401
    wrong = jwt.encode({"aud": url, "exp": int(time.time()) + 60}, "another-secret-0123456789abcdefgh", algorithm="HS256")
    assert api.post(path, data=EVENT, format="json", HTTP_AUTHORIZATION=wrong).status_code == 401
    assert _sync_rows(integration) == []

    token = jwt.encode({"aud": url, "exp": int(time.time()) + 60, "accountId": 4242},
                       "monday-signing-secret-0123456789", algorithm="HS256")
    response = api.post(path, data=EVENT, format="json", HTTP_AUTHORIZATION=token)
    assert response.status_code == 200, response.content
    assert response.json()["started"] is True


def test_board_webhooks_are_registered_once_for_the_chosen_board_and_removed_on_disconnect(alice, fake):
    from integrations.sync.hooks import hook_url
    from integrations.sync.push import push_reconcile, push_stop_all

    integration = connected(alice, fake)
    push_reconcile(integration_id=integration.pk, tenant_id=alice.tenant.id)  # the task after a settings change
    assert sorted(h["event"] for h in fake.webhooks.values()) == sorted(md.HOOK_EVENTS)
    assert {(h["board_id"], h["url"]) for h in fake.webhooks.values()} == {(BOARD, hook_url(integration))}
    held = reload(integration).connection_config["hookRegistration"]
    assert held == {"container": BOARD, "ids": list(fake.webhooks)}

    calls = len(fake.calls)
    push_reconcile(integration_id=integration.pk, tenant_id=alice.tenant.id)
    assert len(fake.calls) == calls  # kept: nothing asked

    push_stop_all(integration=reload(integration))
    assert fake.webhooks == {}
