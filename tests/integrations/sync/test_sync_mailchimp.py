"""Mailchimp through the sync engine (issue 16 items 3 and 6): the audience chosen in settings
and its members <-> clients (subscriber hash = MD5 of the lower-cased email, merge fields
mapped), unsubscribes imported as the client's email opt-out and never overwritten by an
export, the since_last_changed feed (pages, cursor, reset), errors mapped -- the real adapter
and ProviderClient against tests/support/fakes/mailchimp.py (shaped as the pages it names)."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.utils import translation

from core.tenant_context import tenant_scope
from entities.models import Client
from entities.services import entity_create, entity_update
from integrations.models import Integration
from integrations.providers.mailchimp import adapter as mc
from integrations.services import provider_app_set
from tests.support.fakes.mailchimp import API_KEY, AUDIENCE, BASE, mailchimp_fake  # noqa: F401 - fixture
from tests.support.payments import connect_payments
from tests.support.sync_runs import (
    clients,
    drain_entity_events,
    links,
    reload,
    run_sync,
    set_cursor,
    sync_on_worker,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis")]


@pytest.fixture
def fake(mailchimp_fake, monkeypatch):  # noqa: F811
    monkeypatch.setattr(mc, "PAGE_SIZE", 2)
    provider_app_set(provider_id="mailchimp", api_base_url=BASE)
    return mailchimp_fake


def connected(persona, fake, *, direction: str = "bidirectional", settings: dict | None = None) -> Integration:
    return connect_payments(persona, "mailchimp", {"apiKey": fake.api_key},
                            entities=[("client", "list_member", direction)],
                            settings={"audienceId": AUDIENCE, **(settings or {})})


def listings(fake) -> list[dict]:
    return [c.query for c in fake.calls if c.method == "GET" and c.path.endswith("/members")]


def add_client(persona, **data) -> Client:
    with tenant_scope(persona.tenant.id):
        made = entity_create(tenant=persona.tenant, entity_type="client", source="api", data=data)
    drain_entity_events(str(persona.tenant.id))
    return made


# ---------------------------------------------------------------------------- change feed
def test_members_page_in_as_clients_then_the_cursor_brings_only_changes(alice, fake):
    for n in range(5):
        fake.put(f"Dana{n}@Example.co.il", FNAME=f"Dana{n}", LNAME="Levi", PHONE="03-555-0101")
    integration = connected(alice, fake)

    first = run_sync(integration)

    assert first.status == "success", first.error_message
    assert first.summary["created"] == 5
    dana = clients(alice)["Dana0 Levi"]
    assert (dana.email, dana.phone, dana.email_opt_out) == ("Dana0@Example.co.il", "03-555-0101", False)
    assert [q.get("offset") for q in listings(fake)] == ["0", "2", "4"]
    assert {q["sort_field"] for q in listings(fake)} == {"last_changed"}
    assert {link.remote_id for link in links(integration)} == {
        hashlib.md5(f"dana{n}@example.co.il".encode()).hexdigest() for n in range(5)}

    fake.edit(mc.subscriber_hash("dana3@example.co.il"), PHONE="03-555-9999")
    second = run_sync(integration)

    assert (second.summary["created"], second.summary["updated"]) == (0, 1)
    assert clients(alice)["Dana3 Levi"].phone == "03-555-9999"
    assert listings(fake)[-1]["since_last_changed"]  # not a full listing


def test_a_garbled_cursor_relists_without_duplicates(alice, fake):
    for n in range(3):
        fake.put(f"r{n}@example.co.il", FNAME=f"R{n}", LNAME="Reset")
    integration = connected(alice, fake)
    run_sync(integration)
    set_cursor(integration, "{broken", remote_container=AUDIENCE)

    entry = run_sync(integration)

    assert entry.status == "success", entry.error_message
    assert len(clients(alice)) == 3 and len(links(integration)) == 3 and entry.summary["created"] == 0


def test_the_same_page_read_twice_changes_nothing(alice, fake):
    fake.put("twice@example.co.il", FNAME="Twice", LNAME="Read")
    integration = connected(alice, fake)
    run_sync(integration)
    set_cursor(integration, json.dumps({"offset": 0}), remote_container=AUDIENCE)
    before = clients(alice)["Twice Read"].updated_at

    again = run_sync(integration)

    assert (again.summary["created"], again.summary["updated"]) == (0, 0)
    assert clients(alice)["Twice Read"].updated_at == before


# ---------------------------------------------------------------------------- unsubscribes
def test_an_unsubscribe_is_imported_and_an_export_never_resubscribes(alice, fake):
    remote = fake.put("noa@example.co.il", FNAME="Noa", LNAME="Bar")
    integration = connected(alice, fake)
    run_sync(integration)
    fake.edit(remote, status="unsubscribed")

    run_sync(integration)
    noa = clients(alice)["Noa Bar"]
    assert noa.email_opt_out is True

    # the studio edits the client (and even clears the opt-out): the export changes merge
    # fields only, Mailchimp keeps the member unsubscribed
    with tenant_scope(alice.tenant.id):
        entity_update(tenant=alice.tenant, instance=noa, data={"phone": "052-1111111", "email_opt_out": False},
                      source="api")
    drain_entity_events(str(alice.tenant.id))
    entry = run_sync(integration)

    assert entry.status == "success", entry.failed_items
    sent = [c.body for c in fake.calls if c.method in ("PATCH", "PUT")]
    assert sent and all("status" not in body for body in sent)
    assert fake.members[remote]["status"] == "unsubscribed"
    assert fake.members[remote]["merge_fields"]["PHONE"] == "052-1111111"


def test_a_client_opting_out_here_unsubscribes_the_member(alice, fake):
    remote = fake.put("avi@example.co.il", FNAME="Avi", LNAME="Cohen")
    integration = connected(alice, fake)
    run_sync(integration)
    with tenant_scope(alice.tenant.id):
        entity_update(tenant=alice.tenant, instance=clients(alice)["Avi Cohen"], data={"email_opt_out": True},
                      source="api")
    drain_entity_events(str(alice.tenant.id))

    run_sync(integration)

    assert fake.members[remote]["status"] == "unsubscribed"


# ---------------------------------------------------------------------------- export
def test_a_new_client_is_added_by_its_subscriber_hash_pending_by_default_and_a_retry_is_idempotent(alice, fake):
    integration = connected(alice, fake)
    run_sync(integration)
    add_client(alice, name="Yael Golan", email="Yael@Example.co.il", phone="054-1234567")

    entry = run_sync(integration)

    assert entry.status == "success", entry.failed_items
    key = hashlib.md5(b"yael@example.co.il").hexdigest()
    (put,) = [c for c in fake.calls if c.method == "PUT"]
    assert put.path == f"/lists/{AUDIENCE}/members/{key}"
    assert put.body == {"email_address": "Yael@Example.co.il", "status_if_new": "pending",
                        "merge_fields": {"FNAME": "Yael", "LNAME": "Golan", "PHONE": "054-1234567"}}
    assert fake.members[key]["status"] == "pending" and [link.remote_id for link in links(integration)] == [key]

    adapter = mc.MailchimpAdapter.__new__(mc.MailchimpAdapter)
    from integrations.client import ProviderClient

    with tenant_scope(alice.tenant.id):
        client = ProviderClient.for_integration(reload(integration))
        again = adapter.push_create(client, container=AUDIENCE, record={"email_address": "yael@example.co.il",
                                                                        "hub_name": "Yael Golan"}, hub_id="x")
    assert again.remote_id == key and len(fake.members) == 1


def test_settings_choose_subscribed_and_refuse_bad_values(alice, fake):
    adapter = mc.MailchimpAdapter.__new__(mc.MailchimpAdapter)
    assert adapter.settings_errors({"audienceId": AUDIENCE, "newMemberStatus": "subscribed"}) == {}
    with translation.override("en"):  # the messages follow the active language (Hebrew by default)
        assert adapter.settings_errors({"audienceId": "../x", "newMemberStatus": "cleaned", "other": 1}) == {
            "audienceId": ["an audience id (letters and digits)"], "newMemberStatus": ["one of: pending, subscribed"],
            "other": ["unknown setting"]}
    integration = connected(alice, fake, settings={"newMemberStatus": "subscribed"})
    run_sync(integration)
    add_client(alice, name="Sub Scribed", email="sub@example.co.il")
    run_sync(integration)
    assert fake.members[mc.subscriber_hash("sub@example.co.il")]["status"] == "subscribed"


def test_without_an_audience_the_run_fails_clearly(alice, fake):
    integration = connected(alice, fake, settings={"audienceId": ""})
    entry = run_sync(integration)
    assert entry.status == "failed" and "audienceId" in (entry.error_message or "")


# ---------------------------------------------------------------------------- errors
def test_a_disabled_key_expires_the_integration(alice, fake):
    integration = connected(alice, fake)
    fake.api_key = "ffffffffffffffffffffffffffffffff-us6"

    entry = run_sync(integration)

    assert entry.error_code == "provider_expired" and reload(integration).status == Integration.Status.EXPIRED


def test_429_waits_and_5xx_retries_the_listing(alice, fake):
    fake.put("ohana@example.co.il", FNAME="Ohana", LNAME="Spaces")
    integration = connected(alice, fake)
    fake.fail_next(429, headers={"Retry-After": "1"})
    fake.fail_next(503)

    entry = run_sync(integration)

    assert entry.status == "success", entry.error_message
    assert fake.count("GET", "/members", status=429) == 1 and fake.count("GET", "/members", status=503) == 1
    assert set(clients(alice)) == {"Ohana Spaces"}


def test_a_member_mailchimp_refuses_is_a_failed_item_and_the_others_go_out(alice, fake):
    integration = connected(alice, fake)
    run_sync(integration)
    fake.refuse["fake@example.co.il"] = "Please provide a valid email address."
    add_client(alice, name="Refused One", email="fake@example.co.il")
    add_client(alice, name="Accepted One", email="good@example.co.il")

    entry = run_sync(integration)

    assert entry.status == "partial" and entry.summary["failed"] == 1
    assert "Invalid Resource" in entry.failed_items[0]["error"]
    assert [m["email_address"] for m in fake.members.values()] == ["good@example.co.il"]
    assert fake.count("PUT", "/members/", status=400) == 1  # a 4xx is not retried


# ---------------------------------------------------------------------------- end to end
@pytest.mark.django_db(transaction=True)
def test_a_sync_asked_for_through_the_api_runs_on_the_real_worker(alice, fake, sync_worker):
    fake.put("shira@example.co.il", FNAME="Shira", LNAME="Katz")
    fake.put("gone@example.co.il", status="unsubscribed", FNAME="Gone", LNAME="Away")
    integration = connected(alice, fake)
    with tenant_scope(alice.tenant.id):
        entity_create(tenant=alice.tenant, entity_type="client", source="api",
                      data={"name": "Yael Golan", "email": "yael@example.co.il"})

    entry = sync_on_worker(alice, integration, seconds=60)
    assert entry["status"] == "success", entry
    got = clients(alice)
    assert got["Gone Away"].email_opt_out is True and got["Shira Katz"].email_opt_out is False
    assert fake.members[mc.subscriber_hash("yael@example.co.il")]["status"] == "pending"


# ---------------------------------------------------------------------------- list webhooks (issue 16)
# https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/ : a GET when the
# webhook is saved (answered 200), then form-encoded POSTs ``type=...&fired_at=...&data[...]=...``;
# no signature, so the URL carries the integration's secret.
def _form(kind: str, email: str) -> dict:
    data = {"type": kind, "fired_at": "2026-12-01 08:30:00", "data[id]": "8a25ff1d98",
            "data[list_id]": AUDIENCE, "data[email]": email, "data[email_type]": "html",
            "data[ip_opt]": "10.20.10.30", "data[merges][EMAIL]": email, "data[merges][FNAME]": "Noa",
            "data[merges][LNAME]": "Bar"}
    if kind == "unsubscribe":
        data.update({"data[action]": "unsub", "data[reason]": "manual", "data[campaign_id]": "cb398d21d2"})
    return data


def _hook_path(integration) -> str:
    from urllib.parse import urlsplit

    from integrations.sync.hooks import hook_url

    url = urlsplit(hook_url(integration))
    assert url.query.startswith("secret=")
    return f"{url.path}?{url.query}"


def _sync_rows(integration):
    from integrations.models import IntegrationLog

    with tenant_scope(integration.tenant_id):
        return list(IntegrationLog.objects.filter(integration=integration, action="sync").order_by("started_at"))


@pytest.mark.django_db(transaction=True)  # the endpoint finds the integration on the operator connection
def test_mailchimps_url_check_is_answered_200_and_starts_nothing(alice, fake, api):
    integration = connected(alice, fake)
    for path in (_hook_path(integration), f"/api/integrations/hooks/{integration.pk}"):
        response = api.get(path)
        assert response.status_code == 200, response.content
    assert _sync_rows(integration) == []


@pytest.mark.django_db(transaction=True)
def test_an_unsubscribe_webhook_wakes_a_run_that_imports_it_and_an_export_never_resubscribes(alice, fake, api):
    from integrations.sync.services import sync_execute

    remote = fake.put("noa@example.co.il", FNAME="Noa", LNAME="Bar")
    integration = connected(alice, fake)
    run_sync(integration)
    fake.edit(remote, status="unsubscribed")

    # when Mailchimp posts the unsubscribe to the integration's URL
    response = api.post(_hook_path(integration), data=_form("unsubscribe", "noa@example.co.il"))

    # then an incremental run is started, and it imports the unsubscribe from Mailchimp
    assert response.status_code == 200, response.content
    assert response.json()["started"] is True
    woken = _sync_rows(integration)[-1]
    assert woken.status == "running"
    sync_execute(log_id=woken.pk, tenant_id=integration.tenant_id)
    noa = clients(alice)["Noa Bar"]
    assert noa.email_opt_out is True

    # and a later export of the client keeps the member unsubscribed
    with tenant_scope(alice.tenant.id):
        entity_update(tenant=alice.tenant, instance=noa, data={"phone": "052-2222222", "email_opt_out": False},
                      source="api")
    drain_entity_events(str(alice.tenant.id))
    assert run_sync(integration).status == "success"
    assert fake.members[remote]["status"] == "unsubscribed"
    assert fake.members[remote]["merge_fields"]["PHONE"] == "052-2222222"


@pytest.mark.django_db(transaction=True)
def test_every_documented_event_type_wakes_a_run_and_a_post_without_the_secret_is_refused(alice, fake, api):
    integration = connected(alice, fake)
    for forged in (f"/api/integrations/hooks/{integration.pk}", f"/api/integrations/hooks/{integration.pk}?secret=x"):
        assert api.post(forged, data=_form("unsubscribe", "noa@example.co.il")).status_code == 401
    assert _sync_rows(integration) == []
    for kind in ("subscribe", "unsubscribe", "profile", "upemail", "cleaned"):
        response = api.post(_hook_path(integration), data=_form(kind, "noa@example.co.il"))
        assert response.status_code == 200, (kind, response.content)
    # the first started a run; the others found it running and asked for one more
    rows = _sync_rows(integration)
    assert len(rows) == 1 and rows[0].request_snapshot.get("rerun") is True


def test_the_webhook_is_registered_for_the_chosen_audience_once_and_removed_with_it(alice, fake):
    from integrations.sync.hooks import hook_url
    from integrations.sync.push import push_reconcile, push_stop_all

    integration = connected(alice, fake)
    push_reconcile(integration_id=integration.pk, tenant_id=alice.tenant.id)  # the task after a settings change
    (hook,) = fake.webhooks.values()
    assert hook["url"] == hook_url(integration) and "?secret=" in hook["url"]
    assert hook["events"] == {"subscribe": True, "unsubscribe": True, "profile": True, "cleaned": True,
                              "upemail": True, "campaign": False}
    assert hook["sources"] == {"user": True, "admin": True, "api": False}
    assert reload(integration).connection_config["hookRegistration"] == {"container": AUDIENCE, "ids": [hook["id"]]}

    push_reconcile(integration_id=integration.pk, tenant_id=alice.tenant.id)
    assert fake.count("POST", "/webhooks") == 1

    # no audience chosen any more: removed
    with tenant_scope(alice.tenant.id):
        Integration.objects.filter(pk=integration.pk).update(settings={**integration.settings, "audienceId": ""})
    push_reconcile(integration_id=integration.pk, tenant_id=alice.tenant.id)
    assert fake.webhooks == {} and "hookRegistration" not in reload(integration).connection_config

    # chosen again, then disconnected: removed while the key still works
    with tenant_scope(alice.tenant.id):
        Integration.objects.filter(pk=integration.pk).update(settings={**integration.settings, "audienceId": AUDIENCE})
    push_reconcile(integration_id=integration.pk, tenant_id=alice.tenant.id)
    assert len(fake.webhooks) == 1
    push_stop_all(integration=reload(integration))
    assert fake.webhooks == {}
