"""Growing tables are purged on a schedule like the logs (issue 10 item 10): the
outbox (`entity_events`), expired sessions and dead API tokens. Old rows go, new
rows stay, and rows still in use (an undispatched event, a live token) stay
whatever their age."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from core.tenant_context import operator_scope, tenant_scope
from entities.models import EntityEvent
from tenancy.models import ApiToken
from tests.support.factories import make_persona

pytestmark = pytest.mark.django_db(transaction=True)  # the purge runs on the operator connection


def _event(tenant, *, age_days: float, processed: bool) -> uuid.UUID:
    created = timezone.now() - timedelta(days=age_days)
    with tenant_scope(tenant.id):
        event = EntityEvent.objects.create(tenant=tenant, entity_type="meeting", entity_id=uuid.uuid4(),
                                           event="created", data={})
        EntityEvent.objects.filter(pk=event.pk).update(created_at=created,
                                                       processed_at=created if processed else None)
    return event.pk


def _beat_task(task: str) -> dict:
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == task]
    assert len(entries) == 1, f"{task} has no beat entry"
    return entries[0]


def test_processed_events_past_retention_are_purged_and_the_rest_stay(settings):
    from entities.tasks import cleanup_entity_events

    settings.ENTITY_EVENT_RETENTION_DAYS = 7
    alice = make_persona("Alice Studio", "alice@example.com")
    bob = make_persona("Bob Studio", "bob@example.com")
    old_done = [_event(alice.tenant, age_days=8, processed=True), _event(bob.tenant, age_days=30, processed=True)]
    new_done = _event(alice.tenant, age_days=6, processed=True)
    old_waiting = _event(bob.tenant, age_days=30, processed=False)  # never dispatched: the sweeper's, not ours

    assert cleanup_entity_events.run() >= 2

    with operator_scope("test: what is left"):
        left = set(EntityEvent.objects.values_list("pk", flat=True))
    assert left.isdisjoint(old_done)
    assert {new_done, old_waiting} <= left


def test_event_purge_works_in_batches(settings):
    from entities.tasks import cleanup_entity_events

    settings.ENTITY_EVENT_RETENTION_DAYS = 1
    alice = make_persona("Alice Studio", "alice@example.com")
    for _ in range(5):
        _event(alice.tenant, age_days=2, processed=True)
    assert cleanup_entity_events.run(batch=2) >= 5
    with operator_scope("test: count"):
        assert EntityEvent.objects.filter(tenant=alice.tenant, processed_at__isnull=False).count() == 0


def test_expired_sessions_and_dead_tokens_are_purged_and_live_ones_stay(settings):
    from tenancy.tasks import cleanup_sessions_and_tokens

    settings.API_TOKEN_RETENTION_DAYS = 30
    alice = make_persona("Alice Studio", "alice@example.com")
    now = timezone.now()
    Session.objects.create(session_key="old" * 10, session_data="x", expire_date=now - timedelta(minutes=1))
    Session.objects.create(session_key="new" * 10, session_data="x", expire_date=now + timedelta(days=1))

    def token(suffix: str, **fields) -> ApiToken:
        return ApiToken.objects.create(user=alice.user, token_hash=suffix * 64, prefix="ash_x", **fields)

    revoked_long_ago = token("a", revoked_at=now - timedelta(days=31))
    expired_long_ago = token("b", expires_at=now - timedelta(days=31))
    revoked_recently = token("c", revoked_at=now - timedelta(days=1))
    expiring_later = token("d", expires_at=now + timedelta(days=1))

    purged = cleanup_sessions_and_tokens.run()
    assert purged["sessions"] >= 1 and purged["apiTokens"] >= 2

    assert set(Session.objects.values_list("session_key", flat=True)) >= {"new" * 10}
    assert not Session.objects.filter(session_key="old" * 10).exists()
    left = set(ApiToken.objects.values_list("pk", flat=True))
    assert left.isdisjoint({revoked_long_ago.pk, expired_long_ago.pk})
    assert {revoked_recently.pk, expiring_later.pk} <= left
    assert alice.token  # the persona's own live token still works
    assert ApiToken.objects.active().filter(user=alice.user).count() >= 2


def test_the_purges_are_on_the_beat_schedule():
    for task in ("entities.tasks.cleanup_entity_events", "tenancy.tasks.cleanup_sessions_and_tokens"):
        entry = _beat_task(task)
        assert float(entry["schedule"]) <= 3600
