"""The webhook builder's log pages back (issue 14): the latest 50 rows, then "older" pages by the
API's own keyset cursor (core.pagination.LogPagination over the logs' order), keeping the
filters; a cursor the page did not give shows the newest rows and says so. The browser flow is
in test_builder_browser.py's paging test."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.tenant_context import tenant_scope
from tests.support.factories import make_persona
from tests.support.webhooks import make_webhook
from webhooks.models import WebhookLog

pytestmark = pytest.mark.django_db


def add_logs(persona, webhook, n: int, *, status: str = "success") -> list[str]:
    """``n`` requests one minute apart, newest first (their ids)."""
    now = timezone.now()
    with tenant_scope(persona.tenant.id):
        rows = WebhookLog.objects.bulk_create([
            WebhookLog(tenant=persona.tenant, webhook_id=webhook.pk, webhook_type="incoming", direction="incoming",
                       method="POST", url="/x", status=status if i % 2 == 0 else "failed",
                       timestamp=now - timedelta(minutes=i), event_type=f"lead.{i}")
            for i in range(n)])
        for i, row in enumerate(rows):  # the timestamp is auto_now_add: set it afterwards
            WebhookLog.objects.filter(pk=row.pk).update(timestamp=now - timedelta(minutes=i))
    return [str(r.pk) for r in rows]


def shown(html: str) -> list[str]:
    return re.findall(r'data-log-id="([0-9a-f-]{36})"', html)


def older_link(html: str) -> str | None:
    found = re.search(r'id="log-older" hx-get="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.fixture
def owner():
    persona = make_persona("סטודיו כהן", "owner@cohen.example")
    web = Client()
    web.force_login(persona.user)
    return persona, web


def test_older_pages_reach_every_row_once_in_order(owner):
    persona, web = owner
    hook, _secret = make_webhook(persona)
    ids = add_logs(persona, hook, 120)
    first = web.get(f"/webhooks/incoming/{hook.pk}/logs").content.decode()
    assert shown(first) == ids[:50]
    link = older_link(first)
    assert link and link.startswith(f"/webhooks/incoming/{hook.pk}/logs?cursor=")
    second = web.get(link).content.decode()
    assert shown(second) == ids[50:100]
    assert f'hx-get="/webhooks/incoming/{hook.pk}/logs"' in second  # back to the newest
    third = web.get(older_link(second)).content.decode()
    assert shown(third) == ids[100:]
    assert older_link(third) is None
    # the page itself shows the first 50 and the way to older ones
    page = web.get(f"/webhooks/incoming/{hook.pk}").content.decode()
    assert shown(page) == ids[:50] and older_link(page)


def test_paging_keeps_the_filters(owner):
    persona, web = owner
    hook, _secret = make_webhook(persona)
    ids = add_logs(persona, hook, 160)
    failed = [pk for i, pk in enumerate(ids) if i % 2 == 1]
    first = web.get(f"/webhooks/incoming/{hook.pk}/logs?status=failed").content.decode()
    assert shown(first) == failed[:50]
    # htmx adds the filter form's values (hx-include) to the older link, as here
    second = web.get(older_link(first) + "&status=failed&event=&since=&until=").content.decode()
    assert shown(second) == failed[50:]
    assert 'id="log-older"' not in second


def test_a_cursor_the_page_did_not_give_shows_the_newest_rows_and_says_so(owner):
    persona, web = owner
    hook, _secret = make_webhook(persona)
    ids = add_logs(persona, hook, 3)
    response = web.get(f"/webhooks/incoming/{hook.pk}/logs?cursor=l")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html and shown(html) == ids
    # ?page= / ?pageSize= from outside do not change the page
    assert shown(web.get(f"/webhooks/incoming/{hook.pk}/logs?page=9&pageSize=abc").content.decode()) == ids


def test_a_live_refresh_on_an_older_page_keeps_that_page_and_says_newer_entries_arrived(owner):
    """The list refreshes itself on a live event (htmx names it in HX-Trigger) with the filters and
    the cursor of the page it shows (#log-cursor): an older page stays; the newest page shows what is new."""
    persona, web = owner
    hook, _secret = make_webhook(persona)
    ids = add_logs(persona, hook, 120)
    live = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TRIGGER": "log-rows"}
    section = web.get(f"/webhooks/incoming/{hook.pk}").content.decode()
    assert re.search(r'id="log-rows" [^>]*hx-include="#log-section form\.filters, #log-cursor"', section)
    assert 'id="log-cursor"' not in section  # the newest page has no cursor to keep
    link = older_link(section)
    older = web.get(link, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="log-older").content.decode()
    cursor = re.search(r'id="log-cursor" name="cursor" value="([^"]+)"', older)
    assert cursor and shown(older) == ids[50:100] and 'id="log-new"' not in older
    new = add_logs(persona, hook, 1)  # a request arrives: the newest row
    refreshed = web.get(f"/webhooks/incoming/{hook.pk}/logs", {"cursor": cursor.group(1), "status": ""},
                        **live).content.decode()
    assert shown(refreshed) == ids[50:100]  # the same older page
    assert 'id="log-new"' in refreshed and "רשומות חדשות" in refreshed
    assert f'id="log-cursor" name="cursor" value="{cursor.group(1)}"' in refreshed
    # on the newest page the refresh shows the new row, with no notice
    newest = web.get(f"/webhooks/incoming/{hook.pk}/logs", {"status": ""}, **live).content.decode()
    assert shown(newest)[:2] == [new[0], ids[0]] and 'id="log-new"' not in newest
