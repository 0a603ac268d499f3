"""Priority ERP through the sync engine, against a fake of its documented OData REST API
(served through ``responses``): collections as ``{"@odata.context", "value": [...]}``, ``$top`` /
``$skip`` paging, ``$filter=UDATE ge <time>``, entities addressed as ``CUSTOMERS('C0001')``,
POST / PATCH / DELETE, a duplicate key refused with 409, errors as
``{"error": {"code", "message"}}``:
https://prioritysoftware.github.io/restapi/ (query: /restapi/query/, update: /restapi/update/).
The form names come from the integration's settings (per installation)."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import responses
from django.utils import translation

from core.tenant_context import tenant_scope
from entities.models import Client
from entities.services import entity_create, entity_update
from integrations.models import Integration
from integrations.providers.priority import adapter as pa
from integrations.services import provider_app_set
from tests.support.sync_runs import drain_entity_events, entity_pair, links, run_sync, sync_settings

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis")]

BASE = "https://priority.example.co.il/odata/Priority/tabula.ini/demo"
CLIENTS = entity_pair("client", "CUSTOMERS")


class PriorityFake:
    def __init__(self, form: str = "CUSTOMERS"):
        self.form = form
        self.rows: dict[str, dict] = {}
        self.calls: list[tuple[str, str, dict, object, int]] = []

    def put(self, code: str, **fields) -> dict:
        time.sleep(0.002)
        row = {"CUSTNAME": code, **fields, "UDATE": datetime.now(UTC).isoformat()}
        self.rows[code] = row
        return row

    def handle(self, request):
        parts = urlsplit(request.url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = unquote(parts.path.removeprefix(urlsplit(BASE).path))
        body = json.loads(request.body) if request.body else None
        status, payload = self.route(request.method, path, query, body)
        self.calls.append((request.method, path, query, body, status))
        return status, {"Content-Type": "application/json"}, json.dumps(payload)

    def route(self, method, path, query, body):
        m = re.fullmatch(r"/(\w+)(?:\('((?:[^']|'')*)'\))?", path)
        if not m or m.group(1) != self.form:
            return 404, {"error": {"code": "404", "message": "Form not found"}}
        key = m.group(2).replace("''", "'") if m.group(2) is not None else None
        if method == "GET" and key is None:
            rows = sorted(self.rows.values(), key=lambda r: r["UDATE"])
            if "$filter" in query:
                since = datetime.fromisoformat(re.fullmatch(r"UDATE ge (.+)", query["$filter"]).group(1))
                rows = [r for r in rows if datetime.fromisoformat(r["UDATE"]) >= since]
            skip, top = int(query.get("$skip", 0)), int(query.get("$top", 100))
            return 200, {"@odata.context": f"{BASE}/$metadata#{self.form}", "value": rows[skip:skip + top]}
        if method == "GET":
            return (200, self.rows[key]) if key in self.rows else (404, {"error": {"code": "404", "message": "Not found"}})
        if method == "POST":
            if body.get("CUSTNAME") in self.rows:
                return 409, {"error": {"code": "409", "message": "Customer number already exists"}}
            if not body.get("CUSTDES"):
                return 400, {"error": {"code": "400", "message": "Customer name (CUSTDES) is required"}}
            return 201, self.put(body["CUSTNAME"], **{k: v for k, v in body.items() if k != "CUSTNAME"})
        if method == "PATCH":
            self.rows[key].update(body)
            self.rows[key]["UDATE"] = datetime.now(UTC).isoformat()
            return 200, self.rows[key]
        if method == "DELETE":
            self.rows.pop(key, None)
            return 204, {}
        return 405, {}


@pytest.fixture
def priority(request):
    fake = PriorityFake(getattr(request, "param", "CUSTOMERS"))
    provider_app_set(provider_id="priority", api_base_url=BASE)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST", "PATCH", "DELETE"):
            mock.add_callback(method, re.compile(re.escape(BASE) + r"/.*"), callback=fake.handle)
        yield fake


def connected(persona, settings=None) -> Integration:
    with tenant_scope(persona.tenant.id):
        integration = Integration.objects.create(
            tenant=persona.tenant, provider="priority", name="Priority", status=Integration.Status.CONNECTED,
            connected_by=persona.user, connection_config={"serverUrl": "https://priority.example.co.il",
                                                          "tabulaIni": "tabula.ini", "company": "demo"},
            settings={**pa.PriorityAdapter.__new__(pa.PriorityAdapter).settings_defaults(), **(settings or {})},
            sync_settings=sync_settings(CLIENTS))
        integration.set_secret("api_key_encrypted", json.dumps({"username": "api", "password": "PAT"}))
        integration.save()
    return integration


def names(persona):
    with tenant_scope(persona.tenant.id):
        return {c.name for c in Client.objects.filter(tenant=persona.tenant)}


def test_pages_then_udate_filter_and_a_form_renamed_in_the_settings(alice, priority, monkeypatch):
    monkeypatch.setattr(pa, "PAGE_SIZE", 2)
    priority.form = "ZCUS_CUSTOMERS"  # this installation's customer form
    for n in range(3):
        priority.put(f"C000{n}", CUSTDES=f"Customer {n}", EMAIL=f"c{n}@example.co.il")
    integration = connected(alice, {"forms": {"client": "ZCUS_CUSTOMERS"}})
    first = run_sync(integration)
    assert first.status == "success", first.error_message
    assert names(alice) == {"Customer 0", "Customer 1", "Customer 2"}
    assert [c[2]["$skip"] for c in priority.calls] == ["0", "2"]
    assert all(c[1] == "/ZCUS_CUSTOMERS" for c in priority.calls)

    priority.put("C0001", CUSTDES="Customer 1 Ltd", EMAIL="c1@example.co.il")
    second = run_sync(integration)
    assert second.summary["updated"] == 1, second.failed_items
    assert "UDATE ge " in priority.calls[-1][2]["$filter"]
    assert names(alice) == {"Customer 0", "Customer 1 Ltd", "Customer 2"}


def test_a_created_customer_gets_a_stable_code_and_updates_compare_udate(alice, priority):
    integration = connected(alice)
    run_sync(integration)
    with tenant_scope(alice.tenant.id):
        client = entity_create(tenant=alice.tenant, entity_type="client", source="api", data={"name": "Tal Studio"})
    drain_entity_events(str(alice.tenant.id))
    run_sync(integration)
    code = "AS" + client.pk.hex[:8].upper()
    assert priority.rows[code]["CUSTDES"] == "Tal Studio"
    (link,) = links(integration)
    assert link.remote_id == code

    # edited in Priority meanwhile: the update sees UDATE moved -> conflict -> merged, then written
    priority.rows[code].update(EMAIL="office@tal.co.il", UDATE=datetime.now(UTC).isoformat())
    with tenant_scope(alice.tenant.id):
        client.refresh_from_db()
        entity_update(instance=client, data={"phone": "09-8765432"}, tenant=alice.tenant, source="api")
    drain_entity_events(str(alice.tenant.id))
    log = run_sync(integration)
    assert log.status == "success", log.failed_items
    assert priority.rows[code]["EMAIL"] == "office@tal.co.il" and priority.rows[code]["PHONE"] == "09-8765432"


def test_a_refused_record_is_a_failed_item(alice, priority):
    integration = connected(alice)
    run_sync(integration)
    with tenant_scope(alice.tenant.id):
        Integration.objects.filter(pk=integration.pk).update(sync_settings={
            **integration.sync_settings, "fieldMappings": [
                {"localEntity": "client", "localField": "email", "remoteField": "EMAIL"}]})
        entity_create(tenant=alice.tenant, entity_type="client", source="api", data={"name": "No name sent"})
    drain_entity_events(str(alice.tenant.id))
    log = run_sync(integration)
    assert log.status == "partial" and "CUSTDES" in log.failed_items[0]["error"]


def test_settings_refuse_a_bad_form_name():
    adapter = pa.PriorityAdapter.__new__(pa.PriorityAdapter)
    with translation.override("en"):  # the messages follow the active language (Hebrew by default)
        assert adapter.settings_errors({"forms": {"client": "CUSTOMERS; DROP"}}) == {
            "forms": ["forms.client must be a form name such as 'CUSTOMERS' (letters, digits, '_')"]}
    assert adapter.settings_errors({"forms": {"invoice": "X"}})["forms"]


def test_the_catalogs_rate_limit_paces_the_calls(alice, priority, monkeypatch):
    """2 calls per second instead of the hub default (60 per minute): five listing pages take
    at least two seconds."""
    from tests.support.small_bucket import small_bucket

    monkeypatch.setattr(pa, "PAGE_SIZE", 1)
    for n in range(4):
        priority.put(f"C10{n}", CUSTDES=f"Paced {n}")
    with small_bucket("priority", 2, 1):
        integration = connected(alice)
        started = time.monotonic()
        log = run_sync(integration)
        elapsed = time.monotonic() - started
    assert log.status == "success", log.error_message
    assert len([c for c in priority.calls if c[0] == "GET"]) == 5
    assert elapsed >= 2.0


# --------------------------------------------------------------------------- BPM webhooks (issue 15)
def _runs(integration) -> list[str]:
    from integrations.models import IntegrationLog

    with tenant_scope(integration.tenant_id):
        return list(IntegrationLog.objects.filter(integration=integration, action="sync").values_list("status", flat=True))


def _bpm_headers(**extra) -> dict:
    """The headers Priority's BPM webhook action sends (https://prioritysoftware.github.io/webhooks):
    the form, the rule's id/name/subject, and the static token when one is defined."""
    return {"HTTP_PRIORITY_FORM_NAME": "CUSTOMERS", "HTTP_PRIORITY_BPM_ID": "17",
            "HTTP_PRIORITY_BPM_NAME": "Customer status", "HTTP_PRIORITY_BPM_SUBJECT": "C0001", **extra}


@pytest.mark.django_db(transaction=True)  # the endpoint finds the integration on the operator connection
def test_a_priority_bpm_webhook_with_the_url_secret_wakes_an_incremental_run(alice, api):
    from urllib.parse import urlsplit

    from integrations.sync.hooks import hook_url

    integration = connected(alice)
    url = hook_url(integration)
    assert "?secret=" in url
    path = urlsplit(url).path + "?" + urlsplit(url).query
    body = json.dumps({"CUSTNAME": "C0001", "STATDES": "Active"})

    response = api.post(path, data=body, content_type="application/json", **_bpm_headers())
    assert response.status_code == 200, response.content
    assert response.json()["started"] is True
    assert _runs(integration) == ["running"]


@pytest.mark.django_db(transaction=True)
def test_a_priority_bpm_webhook_may_carry_the_secret_as_its_static_token(alice, api):
    from integrations.hook_secret import url_secret

    integration = connected(alice)
    response = api.post(f"/api/integrations/hooks/{integration.pk}", data="{}", content_type="application/json",
                        **_bpm_headers(HTTP_PRIORITY_BPM_TOKEN=url_secret(integration.pk)))
    assert response.status_code == 200, response.content
    assert response.json()["started"] is True


@pytest.mark.django_db(transaction=True)
def test_a_priority_bpm_webhook_without_the_secret_is_refused_and_starts_nothing(alice, api):
    integration = connected(alice)
    for extra, query in (({}, ""), ({"HTTP_PRIORITY_BPM_TOKEN": "guess"}, ""), ({}, "?secret=guess")):
        response = api.post(f"/api/integrations/hooks/{integration.pk}{query}", data="{}",
                            content_type="application/json", **_bpm_headers(**extra))
        assert response.status_code == 401, (extra, query, response.content)
    assert _runs(integration) == []


def test_the_catalog_says_bpm_webhooks_wake_a_run_and_what_is_unverified():
    from integrations.providers.catalog import get_provider

    note = get_provider("priority").maturity_note
    assert "BPM webhooks are not wired" not in note
    assert "BPM webhook" in note and "unverified" in note.lower()
