"""Mailchimp's own SDK (``mailchimp-marketing`` 3.0.80, generated from Mailchimp's OpenAPI
spec) is pointed at tests/support/fakes/mailchimp.py (``MailchimpMarketing.Client`` with the
key's datacenter as its ``server``: the host is the fake's ``https://us6.api.mailchimp.com/3.0``,
and the SDK speaks ``requests``, which the fake's ``responses`` mock serves) and makes the calls
our adapter makes through the hub's ProviderClient:

- each SDK method names the path template, the HTTP method and the query parameters it allows
  (an unknown keyword is a ``TypeError`` in the SDK): the SDK's request must be exactly ours
  (method, path, query, JSON body), so our paths and parameter names are Mailchimp's;
- the fake answers the SDK exactly as it answers our adapter (the same JSON);
- the subscriber hash in every member path is the MD5 of the lower-cased email
  (https://mailchimp.com/developer/marketing/docs/methods-parameters/#path-parameters), computed
  here independently of the adapter;
- the audience's merge fields read by the SDK name every merge field a member carries and every
  one our default mapping writes;
- errors reach the SDK as its ``ApiClientError`` with the problem+json body.

The SDK returns plain dicts (it ships no response models), so answer shapes beyond these are
held to the pages the fake names, not to the SDK.
"""

from __future__ import annotations

import hashlib
import json

import mailchimp_marketing as MailchimpMarketing
import pytest
from mailchimp_marketing.api_client import ApiClientError

from core.tenant_context import tenant_scope
from integrations.client import ProviderClient
from integrations.providers.mailchimp import adapter as mc
from integrations.services import provider_app_set
from tests.support.fakes.mailchimp import API_KEY, AUDIENCE, BASE, mailchimp_fake  # noqa: F401 - fixture
from tests.support.payments import connect_payments
from tests.support.sync_runs import reload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis")]

ADAPTER = mc.MailchimpAdapter.__new__(mc.MailchimpAdapter)


@pytest.fixture
def fake(mailchimp_fake):  # noqa: F811
    provider_app_set(provider_id="mailchimp", api_base_url=BASE)
    return mailchimp_fake


@pytest.fixture
def hub(alice, fake):
    """The hub's own client for a connected Mailchimp integration (the adapter's Caller)."""
    integration = connect_payments(alice, "mailchimp", {"apiKey": fake.api_key},
                                   entities=[("client", "list_member", "bidirectional")],
                                   settings={"audienceId": AUDIENCE})
    with tenant_scope(alice.tenant.id):
        yield ProviderClient.for_integration(reload(integration))


@pytest.fixture
def sdk(fake):
    client = MailchimpMarketing.Client()
    client.set_config({"api_key": fake.api_key, "server": API_KEY.rsplit("-", 1)[1]})
    return client


def md5_of(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


def request_of(call) -> tuple:
    return call.method, call.path, call.query, call.body


def twice(fake, ours, sdk_call):
    """Our call, then the SDK's: (our request, the SDK's request, our answer, the SDK's return)."""
    ours()
    mine = fake.calls[-1]
    returned = sdk_call()
    theirs = fake.calls[-1]
    assert mine is not theirs, "the SDK's call did not reach the fake"
    return request_of(mine), request_of(theirs), mine.answer, returned


# ---------------------------------------------------------------------------- reads
def test_the_sdk_is_pointed_at_the_fake_and_its_ping_is_our_test_call(fake, hub, sdk):
    assert sdk.api_client.host.replace("server", sdk.api_client.server) == BASE
    ours = hub.request("GET", "/ping")
    assert sdk.ping.get() == ours.data == {"health_status": "Everything's Chimpy!"}


def test_the_audiences_listing_is_the_sdks_get_all_lists(fake, hub, sdk):
    mine, theirs, answer, returned = twice(
        fake, lambda: ADAPTER.list_containers(hub),
        lambda: sdk.lists.get_all_lists(count=1000, fields=["lists.id", "lists.name"]))

    assert mine == theirs == ("GET", "/lists", {"count": "1000", "fields": "lists.id,lists.name"}, None)
    assert returned == answer
    assert [(c.id, c.name) for c in ADAPTER.list_containers(hub)] == [(a["id"], a["name"]) for a in returned["lists"]]


def test_the_member_feed_is_the_sdks_get_list_members_info_page_by_page(fake, hub, sdk, monkeypatch):
    monkeypatch.setattr(mc, "PAGE_SIZE", 2)
    for n in range(3):
        fake.put(f"dana{n}@example.co.il", FNAME=f"Dana{n}", LNAME="Levi", PHONE="03-555-0101")
    cursor, pages = None, []
    while True:
        page = ADAPTER.list_changes(hub, container=AUDIENCE, cursor=cursor)
        mine = fake.calls[-1]
        query = dict(mine.query)
        returned = sdk.lists.get_list_members_info(
            AUDIENCE, count=int(query.pop("count")), offset=int(query.pop("offset")),
            sort_field=query.pop("sort_field"), sort_dir=query.pop("sort_dir"), **query)
        assert request_of(fake.calls[-1]) == request_of(mine)
        assert returned == mine.answer
        pages.append(page)
        cursor = page.cursor
        if page.done:
            break
    assert [c.remote_id for p in pages for c in p.changes] == [md5_of(f"dana{n}@example.co.il") for n in range(3)]

    fake.edit(md5_of("dana1@example.co.il"), PHONE="03-555-9999")
    page = ADAPTER.list_changes(hub, container=AUDIENCE, cursor=cursor)
    mine = fake.calls[-1]
    assert "since_last_changed" in mine.query
    returned = sdk.lists.get_list_members_info(AUDIENCE, count=2, offset=0, sort_field="last_changed",
                                               sort_dir="ASC", since_last_changed=mine.query["since_last_changed"])
    assert request_of(fake.calls[-1]) == request_of(mine) and returned == mine.answer
    assert [c.remote_id for c in page.changes][-1] == md5_of("dana1@example.co.il")


def test_the_merge_fields_the_sdk_reads_name_every_field_members_carry_and_our_mapping_writes(fake, sdk):
    fake.put("noa@example.co.il", FNAME="Noa", LNAME="Bar")
    tags = {f["tag"]: f["type"] for f in sdk.lists.get_list_merge_fields(AUDIENCE)["merge_fields"]}
    member = sdk.lists.get_list_member(AUDIENCE, md5_of("Noa@Example.co.il"))

    assert set(member["merge_fields"]) <= set(tags)
    mapped = {m["remoteField"].split(".", 1)[1] for m in mc.MEMBER_MAPPING if m["remoteField"].startswith("merge_fields.")}
    outgoing = set(mc._outgoing({"hub_name": "Noa Bar", "merge_fields": {"PHONE": "1"}})["merge_fields"])
    assert mapped | outgoing <= set(tags)
    assert (tags["FNAME"], tags["PHONE"], tags["ADDRESS"]) == ("text", "phone", "address")


# ---------------------------------------------------------------------------- writes
def test_add_or_update_by_subscriber_hash_is_the_sdks_set_list_member(fake, hub, sdk):
    record = {"email_address": "Yael.Golan@Example.co.il", "hub_name": "Yael Golan",
              "merge_fields": {"PHONE": "054-1234567"}, "hub_status_if_new": "pending"}
    key = md5_of("yael.golan@example.co.il")

    made = ADAPTER.push_create(hub, container=AUDIENCE, record=record, hub_id="h1")
    mine = fake.calls[-1]
    returned = sdk.lists.set_list_member(AUDIENCE, key, mine.body)  # the same add-or-update, again

    assert made.remote_id == key == mine.path.rsplit("/", 1)[1]
    assert request_of(fake.calls[-1]) == request_of(mine) == (
        "PUT", f"/lists/{AUDIENCE}/members/{key}", {},
        {"email_address": "Yael.Golan@Example.co.il", "status_if_new": "pending",
         "merge_fields": {"FNAME": "Yael", "LNAME": "Golan", "PHONE": "054-1234567"}})
    assert set(returned) == set(mine.answer) and returned["id"] == mine.answer["id"] == key
    assert returned == sdk.lists.get_list_member(AUDIENCE, key) and len(fake.members) == 1


def test_an_update_is_the_sdks_update_list_member_and_an_opt_out_unsubscribes(fake, hub, sdk):
    key = fake.put("noa@example.co.il", FNAME="Noa", LNAME="Bar")
    other = fake.put("avi@example.co.il", FNAME="Avi", LNAME="Cohen")

    mine, theirs, answer, returned = twice(
        fake, lambda: ADAPTER.push_update(hub, container=AUDIENCE, remote_id=key, version=None,
                                          record={"email_address": "noa@example.co.il", "hub_name": "Noa Bar-Lev",
                                                  "hub_opted_out": True}),
        lambda: sdk.lists.update_list_member(AUDIENCE, other, fake.calls[-1].body))

    assert mine[:2] == ("PATCH", f"/lists/{AUDIENCE}/members/{key}")
    assert theirs[:2] == ("PATCH", f"/lists/{AUDIENCE}/members/{other}") and theirs[3] == mine[3]
    assert answer["status"] == returned["status"] == "unsubscribed"
    assert set(returned) == set(answer) and answer["merge_fields"]["LNAME"] == "Bar-Lev"


def test_an_archive_is_the_sdks_delete_list_member_and_a_second_is_its_not_found(fake, hub, sdk):
    first, second = fake.put("a@example.co.il"), fake.put("b@example.co.il")

    ADAPTER.push_delete(hub, container=AUDIENCE, remote_id=first, version=None)
    mine = fake.calls[-1]
    response = sdk.lists.delete_list_member(AUDIENCE, second)  # the SDK hands back a 204 as the response
    assert (mine.method, mine.path, mine.status) == ("DELETE", f"/lists/{AUDIENCE}/members/{first}", 204)
    assert (fake.calls[-1].method, fake.calls[-1].status, response.status_code) == ("DELETE", 204, 204)

    ADAPTER.push_delete(hub, container=AUDIENCE, remote_id=first, version=None)  # already gone: fine
    with pytest.raises(ApiClientError) as gone:
        sdk.lists.delete_list_member(AUDIENCE, first)
    assert gone.value.status_code == 404 and json.loads(gone.value.text)["title"] == "Resource Not Found"


# ---------------------------------------------------------------------------- errors
def test_the_fakes_refusals_reach_the_sdk_as_its_errors_and_ours_as_our_errors(fake, hub, sdk):
    key = fake.put("gone@example.co.il", status="unsubscribed")
    with pytest.raises(ApiClientError) as compliance:
        sdk.lists.set_list_member(AUDIENCE, key, {"email_address": "gone@example.co.il", "status": "subscribed"})
    assert compliance.value.status_code == 400
    assert json.loads(compliance.value.text)["title"] == "Member In Compliance State"

    fake.refuse["bad@example.co.il"] = "Please provide a valid email address."
    with pytest.raises(mc.MailchimpError) as ours:
        ADAPTER.push_create(hub, container=AUDIENCE, record={"email_address": "bad@example.co.il"}, hub_id="h")
    with pytest.raises(ApiClientError) as theirs:
        sdk.lists.set_list_member(AUDIENCE, md5_of("bad@example.co.il"), fake.calls[-1].body)
    assert ours.value.status == theirs.value.status_code == 400
    assert ours.value.title == json.loads(theirs.value.text)["title"] == "Invalid Resource"

    stranger = MailchimpMarketing.Client()
    stranger.set_config({"api_key": "ffffffffffffffffffffffffffffffff-us6"})
    with pytest.raises(ApiClientError) as refused:
        stranger.lists.get_all_lists()
    assert refused.value.status_code == 401 and json.loads(refused.value.text)["title"] == "API Key Invalid"
