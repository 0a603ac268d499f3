"""The admin back office in a real browser, in Hebrew (issue 14 items 6, 7): a staff user opens
the admin index, the operations dashboard and the changelists of integrations, webhook logs and
integration logs; each page has 0 serious/critical axe-core violations and no untranslated word
(only brand/provider names, ids and the data's own technical values stay in Latin letters).
Screenshots of the dashboard are saved in Hebrew and English.

Database work (the staff user, seeded rows, the session) happens in fixtures listed before
``chromium``: Playwright's sync API runs an event loop in this thread.
"""

from __future__ import annotations

import re
import uuid
import zoneinfo
from datetime import timedelta

import pytest
from django.conf import settings

from tests.support.browser import (
    assert_accessible,
    assert_translated,
    new_context,
    screenshot,
    session_cookie,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = {
    "admin-index": "/admin/",
    "admin-dashboard": "/admin/dashboard",
    "integrations": "/admin/integrations/integration/",
    "webhook-logs": "/admin/webhooks/webhooklog/",
    "integration-logs": "/admin/integrations/integrationlog/",
}
# Data shown as it is stored (not interface text): the seeded integration's and webhook's names,
# the provider's id (in an integration's name, "CRM (hubspot)"); and "UUID", the technical term the
# search help keeps (as "ID", "JSON" in tests.support.browser.BRAND_WORDS). The logs' direction, action
# and status are shown by their labels (tests/core/test_admin_codes_hebrew.py).
DATA_WORDS = ("CRM", "Calendar", "Dead", "hubspot", "UUID")


@pytest.fixture
def staff_session(transactional_db, live_server):
    from django.utils import timezone

    from core.tenant_context import tenant_scope
    from integrations.models import Integration, IntegrationLog
    from tenancy.models import User
    from tests.support.factories import fresh_persona
    from webhooks.models import OutgoingWebhook, WebhookLog

    studio = fresh_persona("סטודיו כהן")
    now = timezone.now()
    with tenant_scope(studio.tenant.id):
        crm = Integration.objects.create(tenant=studio.tenant, provider="hubspot", name="CRM", status="error",
                                         connected_by=studio.user, last_error="401", refresh_failures=2)
        Integration.objects.create(tenant=studio.tenant, provider="google_calendar", name="Calendar",
                                   status="expired", connected_by=studio.user)
        IntegrationLog.objects.create(tenant=studio.tenant, integration=crm, action="sync", direction="incoming",
                                      status="success", started_at=now - timedelta(minutes=3), completed_at=now,
                                      duration_ms=1500, summary={"total": 4, "created": 3, "updated": 1})
        OutgoingWebhook.objects.create(tenant=studio.tenant, name="Dead CRM", url="https://dead.example.com/in",
                                       triggers=[{"entityType": "meeting", "events": ["created"]}],
                                       is_enabled=False, consecutive_failures=25)
        WebhookLog.objects.create(tenant=studio.tenant, webhook_id=uuid.uuid4(), webhook_type="outgoing",
                                  direction="outgoing", method="POST", url="https://dead.example.com/in",
                                  status="failed", delivery_id=uuid.uuid4(), response_status=500,
                                  next_retry_at=now - timedelta(seconds=5))
        WebhookLog.objects.create(tenant=studio.tenant, webhook_id=uuid.uuid4(), webhook_type="incoming",
                                  direction="incoming", method="POST", url="https://hub.example.com/in",
                                  status="pending")
    staff = User.objects.create_superuser(username="ops@hub.example", email="ops@hub.example", password="x-Ops-2026")
    return session_cookie(staff, live_server.url)["value"]


def test_the_admin_pages_are_hebrew_accessible_and_the_dashboard_is_photographed(staff_session, live_server,
                                                                                 chromium):
    he = new_context(chromium, lang="he", base_url=live_server.url, session=staff_session)
    page = he.new_page()
    for name, url in PAGES.items():
        response = page.goto(url)
        assert response.status == 200, f"{url}: {response.status}"
        assert_accessible(page)
        assert_translated(page, allow=DATA_WORDS)
        if name == "admin-dashboard":
            assert page.get_by_role("heading", name="לוח בקרה תפעולי").is_visible()
            screenshot(page, "admin-dashboard")
    # the integrations list's actions (the select of the changelist) are Hebrew too
    page.goto(PAGES["integrations"])
    options = page.get_by_label("פעולה").locator("option").all_inner_texts()
    assert len(options) >= 4 and all("Test" not in o and "Delete" not in o for o in options), options
    he.close()

    en = new_context(chromium, lang="en", base_url=live_server.url, session=staff_session)
    page = en.new_page()
    page.goto(PAGES["admin-dashboard"])
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Operations dashboard").is_visible()
    assert_accessible(page)
    screenshot(page, "admin-dashboard")
    en.close()


BEAT_PAGES = ("/admin/django_celery_beat/periodictask/", "/admin/django_celery_beat/intervalschedule/",
              "/admin/django_celery_beat/crontabschedule/", "/admin/django_celery_beat/solarschedule/",
              "/admin/django_celery_beat/clockedschedule/")


@pytest.fixture
def beat_session(transactional_db, live_server):
    """A staff user, and a periodic task on each kind of schedule (deleted after: the truncation after
    transactional tests keeps django-celery-beat's tables, which hold the hub's own schedule)."""
    from django.utils import timezone
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )

    from tenancy.models import User

    every = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    task = PeriodicTask.objects.create(name="outbox sweep", task="entities.tasks.sweep_outbox", interval=every,
                                       description="")
    nightly = CrontabSchedule.objects.create(minute="0", hour="4")
    PeriodicTask.objects.create(name="nightly", task="entities.tasks.sweep_outbox", crontab=nightly)
    sunrise = SolarSchedule.objects.create(event="sunrise", latitude=32.08, longitude=34.78)
    PeriodicTask.objects.create(name="at sunrise", task="entities.tasks.sweep_outbox", solar=sunrise)
    clocked = ClockedSchedule.objects.create(clocked_time=timezone.now())
    PeriodicTask.objects.create(name="once", task="entities.tasks.sweep_outbox", one_off=True, clocked=clocked)
    staff = User.objects.create_superuser(username="beat@hub.example", email="beat@hub.example", password="x-Ops-2026")
    yield session_cookie(staff, live_server.url)["value"], task.pk
    PeriodicTask.objects.filter(name__in=("outbox sweep", "nightly", "at sunrise", "once")).delete()
    for schedule in (every, nightly, sunrise, clocked):
        schedule.delete()


def test_the_periodic_task_pages_are_hebrew(beat_session, live_server, chromium):
    """django-celery-beat's own admin pages: field labels, help texts, fieldsets and choices in Hebrew
    (the root catalog translates the package's msgids); the tasks' names are the data ("outbox sweep")."""
    session, task_id = beat_session
    he = new_context(chromium, lang="he", base_url=live_server.url, session=session)
    page = he.new_page()
    # the tasks' names, and a crontab named by its cron expression ("0 4 * * * (m/h/dM/MY/d) Asia/Jerusalem",
    # the package's notation, no msgid)
    # and the JSON example of a help text ({"argument": "value"})
    data = ("outbox", "sweep", "nightly", "at", "sunrise", "once", "UTC", "m", "h", "dM", "MY", "d", "Asia", "Jerusalem",
            "Celery", "argument", "value",
            # the hub's own schedule ("integrations-token-expiry-scan"), which a beat started by an earlier
            # test on this worker writes into these tables (kept by the truncation): names are data too
            *{w for name in settings.CELERY_BEAT_SCHEDULE for w in re.findall(r"[A-Za-z]+", name)})
    # the crontab's time zone select lists the IANA zone names ("Asia/Jerusalem"): identifiers, not words
    zones = {w for zone in zoneinfo.available_timezones() for w in re.findall(r"[A-Za-z][A-Za-z']*", zone)}
    for url in (*BEAT_PAGES, f"/admin/django_celery_beat/periodictask/{task_id}/change/",
                "/admin/django_celery_beat/intervalschedule/add/", "/admin/django_celery_beat/crontabschedule/add/",
                "/admin/django_celery_beat/solarschedule/add/", "/admin/django_celery_beat/clockedschedule/add/"):
        response = page.goto(url)
        assert response.status == 200, f"{url}: {response.status}"
        assert_translated(page, allow=(*data, *zones) if "crontab" in url else data)
    page.goto(f"/admin/django_celery_beat/periodictask/{task_id}/change/")
    assert page.get_by_role("heading", name="תזמון").is_visible()
    assert page.get_by_label("תזמון במרווחים").is_visible()
    assert page.get_by_text("כל 5 דקות").count() >= 1
    page.goto("/admin/django_celery_beat/intervalschedule/add/")
    options = page.get_by_label("פרק הזמן").locator("option").all_inner_texts()
    assert "ימים" in options and "Days" not in options, options
    he.close()
