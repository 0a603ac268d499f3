"""Log lists at scale (issue 12 item 9): keyset pages, capped count, filters, tenant isolation.

``GET /api/webhooks/:id/logs``, ``GET /api/webhook-logs`` and ``GET /api/integrations/:id/logs``
page with core.pagination.LogPagination; these tests walk the links a client follows.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from core import pagination
from core.tenant_context import tenant_scope
from integrations.models import IntegrationLog
from tests.support.oauth import make_oauth_integration
from webhooks.models import WebhookLog

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - timedelta(days=1)


def _webhook(api) -> uuid.UUID:
    body = {"name": "CRM", "url": "https://hooks.example.com/in",
            "triggers": [{"entityType": "meeting", "events": ["created"]}]}
    response = api.post("/api/webhooks/outgoing", body, format="json")
    assert response.status_code == 201, response.content
    return uuid.UUID(response.json()["id"])


def _logs(tenant_id, webhook_id, n, *, status="success", event="meeting.created", start=T0, same_time=False):
    """``n`` outgoing attempt rows, one a minute from ``start`` (or all at ``start``), oldest first."""
    rows = [
        WebhookLog(tenant_id=tenant_id, webhook_id=webhook_id, webhook_type="outgoing", direction="outgoing",
                   method="POST", url="https://example.com/in", status=status, event_type=event,
                   attempt=1 + (i % 3 if same_time else 0),
                   timestamp=start if same_time else start + timedelta(minutes=i))
        for i in range(n)
    ]
    wanted = [row.timestamp for row in rows]
    with tenant_scope(tenant_id):
        WebhookLog.objects.bulk_create(rows)
        # auto_now_add overrides the given timestamps on insert; put them back.
        for row, timestamp in zip(rows, wanted, strict=True):
            row.timestamp = timestamp
            WebhookLog.objects.filter(pk=row.pk).update(timestamp=timestamp)
    return rows


def _walk(api, url, link="next"):
    """Every page from ``url`` following ``link``; the pages' bodies."""
    pages = []
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content
        pages.append(response.json())
        url = pages[-1][link]
    return pages


def _newest_first(rows):
    return [str(r.pk) for r in sorted(rows, key=lambda r: (r.timestamp, r.attempt, str(r.pk)), reverse=True)]


def test_next_links_reach_every_row_once_in_order_and_previous_links_come_back(alice, alice_api):
    wid = _webhook(alice_api)
    rows = _logs(alice.tenant.id, wid, 7) + _logs(alice.tenant.id, wid, 5, start=T0 + timedelta(hours=5),
                                                  same_time=True)

    pages = _walk(alice_api, f"/api/webhooks/{wid}/logs?pageSize=3")
    ids = [r["id"] for p in pages for r in p["results"]]
    assert ids == _newest_first(rows)
    assert [len(p["results"]) for p in pages] == [3, 3, 3, 3]
    assert all(p["count"] == 12 and p["countCapped"] is False for p in pages)
    assert pages[0]["previous"] is None and pages[-1]["next"] is None
    assert "cursor=" in pages[0]["next"] and "page=" not in pages[0]["next"]

    back = _walk(alice_api, pages[-1]["previous"], link="previous")
    assert [r["id"] for p in reversed(back) for r in p["results"]] == ids[:9]


def test_page_numbers_still_work_within_the_count_and_past_it_are_404(alice, alice_api):
    wid = _webhook(alice_api)
    rows = _logs(alice.tenant.id, wid, 5)

    second = alice_api.get(f"/api/webhooks/{wid}/logs?pageSize=2&page=2").json()
    past = alice_api.get(f"/api/webhooks/{wid}/logs?pageSize=2&page=4")

    assert [r["id"] for r in second["results"]] == _newest_first(rows)[2:4]
    assert second["previous"].endswith("pageSize=2") and "cursor=" in second["next"]
    assert past.status_code == 404


def test_count_is_capped_and_says_so(alice, alice_api, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_CAP", 4)
    wid = _webhook(alice_api)
    _logs(alice.tenant.id, wid, 6)

    many = alice_api.get(f"/api/webhooks/{wid}/logs?pageSize=2").json()
    few = alice_api.get(f"/api/webhooks/{wid}/logs?pageSize=2&status=failed").json()
    pages = _walk(alice_api, f"/api/webhooks/{wid}/logs?pageSize=2")

    assert (many["count"], many["countCapped"]) == (4, True)
    assert (few["count"], few["countCapped"]) == (0, False)
    assert sum(len(p["results"]) for p in pages) == 6  # the cap limits the count, not the walk


def test_filters_by_status_event_and_date_on_both_lists(alice, alice_api):
    wid, other = _webhook(alice_api), _webhook(alice_api)
    ok = _logs(alice.tenant.id, wid, 4)
    failed = _logs(alice.tenant.id, wid, 3, status="failed", start=T0 + timedelta(hours=1))
    updated = _logs(alice.tenant.id, wid, 2, event="meeting.updated", start=T0 + timedelta(hours=2))
    elsewhere = _logs(alice.tenant.id, other, 2, status="failed", start=T0 + timedelta(hours=3))

    def ids(url):
        return [r["id"] for p in _walk(alice_api, url + "&pageSize=2") for r in p["results"]]

    since = (T0 + timedelta(minutes=2)).isoformat().replace("+00:00", "Z")
    until = (T0 + timedelta(hours=1, minutes=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"/api/webhooks/{wid}/logs?status=failed") == _newest_first(failed)
    assert ids(f"/api/webhooks/{wid}/logs?event=meeting.updated") == _newest_first(updated)
    assert ids(f"/api/webhooks/{wid}/logs?since={since}&until={until}") == _newest_first(ok[2:] + failed[:1])
    assert ids("/api/webhook-logs?status=failed") == _newest_first(failed + elsewhere)
    assert ids(f"/api/webhook-logs?webhookId={other}") == _newest_first(elsewhere)
    assert alice_api.get("/api/webhook-logs").json()["count"] == 11


@pytest.mark.parametrize("query, field", [
    ("status=weird", "status"), ("since=yesterday", "since"), ("cursor=not-a-cursor", "cursor"),
    ("cursor=eyJkIjoibiIsImsiOlsieCIsMSwieSJdfQ", "cursor"), ("webhookId=nope", "webhookId"), ("page=0", "page"),
])
def test_bad_list_parameters_are_400(alice, alice_api, query, field):
    response = alice_api.get(f"/api/webhook-logs?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_other_tenants_logs_never_appear_not_even_through_a_cursor(alice, alice_api, bob, bob_api):
    wid = _webhook(alice_api)
    _logs(alice.tenant.id, wid, 4)
    bobs = _logs(bob.tenant.id, uuid.uuid4(), 1, start=T0 - timedelta(days=1))
    alices_next = alice_api.get("/api/webhook-logs?pageSize=2").json()["next"]

    everything = bob_api.get("/api/webhook-logs").json()
    through_cursor = bob_api.get(alices_next.replace("http://testserver", "")).json()

    assert [r["id"] for r in everything["results"]] == [str(bobs[0].pk)] and everything["count"] == 1
    assert [r["id"] for r in through_cursor["results"]] == [str(bobs[0].pk)]
    assert bob_api.get(f"/api/webhook-logs?webhookId={wid}").json() == {
        "count": 0, "countCapped": False, "next": None, "previous": None, "results": []}


def test_integration_logs_page_by_cursor_and_filter(alice, alice_api, bob):
    google = make_oauth_integration(alice, "google_calendar", access="ya29.a", refresh="1//r")
    with tenant_scope(alice.tenant.id):
        rows = [IntegrationLog.objects.create(tenant_id=alice.tenant.id, integration=google,
                                              action="sync" if i % 2 else "test", direction="outgoing",
                                              status="failed" if i % 3 == 0 else "success",
                                              started_at=T0 + timedelta(minutes=i // 2))
                for i in range(7)]
    base = f"/api/integrations/{google.pk}/logs"

    def ids(url):
        return [r["id"] for p in _walk(alice_api, url) for r in p["results"]]

    def newest_first(subset):
        return [str(r.pk) for r in sorted(subset, key=lambda r: (r.started_at, str(r.pk)), reverse=True)]

    first = alice_api.get(f"{base}?pageSize=3").json()
    assert (first["count"], first["countCapped"]) == (7, False)
    assert ids(f"{base}?pageSize=3") == newest_first(rows)
    assert ids(f"{base}?pageSize=2&action=sync") == newest_first([r for r in rows if r.action == "sync"])
    assert ids(f"{base}?pageSize=2&status=failed") == newest_first([r for r in rows if r.status == "failed"])
    since = (T0 + timedelta(minutes=2)).isoformat().replace("+00:00", "Z")
    assert ids(f"{base}?since={since}") == newest_first([r for r in rows if r.started_at >= T0 + timedelta(minutes=2)])
    assert alice_api.get(f"{base}?action=nope").status_code == 400


@pytest.mark.django_db(transaction=True)  # the admin reads in operator scope on its own connection
def test_admin_log_search_takes_an_exact_id_of_an_indexed_column(alice, alice_api, bob, admin_client):
    wid = _webhook(alice_api)
    mine = _logs(alice.tenant.id, wid, 2)
    other = _logs(bob.tenant.id, uuid.uuid4(), 1)
    delivery = uuid.uuid4()
    with tenant_scope(alice.tenant.id):
        WebhookLog.objects.filter(pk=mine[0].pk).update(delivery_id=delivery)
    google = make_oauth_integration(alice, "google_calendar", access="ya29.a", refresh="1//r")
    with tenant_scope(alice.tenant.id):
        run = IntegrationLog.objects.create(tenant_id=alice.tenant.id, integration=google, action="sync",
                                            direction="outgoing", status="success")

    def shown(url, rows):
        html = admin_client.get(url).content.decode()
        return {str(r.pk) for r in rows if f"/{r.pk}/change/" in html}

    everything = mine + other
    assert shown("/admin/webhooks/webhooklog/", everything) == {str(r.pk) for r in everything}
    assert shown(f"/admin/webhooks/webhooklog/?q={wid}", everything) == {str(r.pk) for r in mine}
    assert shown(f"/admin/webhooks/webhooklog/?q={delivery}", everything) == {str(mine[0].pk)}
    assert shown(f"/admin/webhooks/webhooklog/?q={other[0].pk}", everything) == {str(other[0].pk)}
    assert shown("/admin/webhooks/webhooklog/?q=meeting", everything) == set()
    assert shown(f"/admin/integrations/integrationlog/?q={google.pk}", [run]) == {str(run.pk)}
    assert shown(f"/admin/integrations/integrationlog/?q={uuid.uuid4()}", [run]) == set()
