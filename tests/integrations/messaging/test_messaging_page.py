"""The messaging rules and opt-outs page (/integrations/<id>/messaging, issue 14) through Django's
test client: rules listed, added, edited and removed through the API's own serializer (bad
rules are a 400 that changes nothing), quiet hours, per-recipient opt-outs (the same rows the
sender skips), the recent dispatches with their delivery status; roles, CSRF, tenant boundary.
The browser flow is in test_messaging_page_browser.py; the page walker covers every POST."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.tenant_context import tenant_scope
from entities.models import Message
from integrations.models import Integration, MessageDispatch, MessageOptOut
from tests.support.factories import persona_in
from tests.support.messaging import connect_messaging
from tests.support.oauth import make_oauth_integration

pytestmark = pytest.mark.django_db

RULE = {"id": "meeting-reminder", "enabled": True, "entityType": "meeting", "minutesBefore": 1440,
        "recipients": "attendees", "body": "תזכורת: {{entity.title}}"}


def browser(persona, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(persona.user)
    return client


@pytest.fixture
def twilio(alice) -> Integration:
    return connect_messaging(alice, "twilio", rules=[RULE])


def stored(integration: Integration) -> Integration:
    with tenant_scope(integration.tenant_id):
        return Integration.objects.get(pk=integration.pk)


def opt_outs(persona) -> list[tuple[str, str, str]]:
    with tenant_scope(persona.tenant.id):
        return sorted(MessageOptOut.objects.values_list("channel", "address", "reason"))


def url(integration, part: str = "") -> str:
    return f"/integrations/{integration.pk}/messaging" + (f"/{part}" if part else "")


def test_the_page_lists_rules_quiet_hours_opt_outs_and_dispatches_with_delivery_status(alice, twilio):
    with tenant_scope(alice.tenant.id):
        MessageOptOut.objects.create(tenant=alice.tenant, channel="sms", address="+972501111111", reason="inbound STOP")
        message = Message.objects.create(tenant=alice.tenant, channel="sms", direction="outbound",
                                         to_address="+972502222222", body="x", status="delivered")
        MessageDispatch.objects.create(tenant=alice.tenant, integration=twilio, rule_id="meeting-reminder",
                                       entity_type="meeting", entity_id="7a1f6e36-58d5-4c5a-9f55-0b6f1f4c2a10",
                                       occurrence="o", recipient="+972502222222", due_at=timezone.now(),
                                       status="sent", message=message)
    page = browser(alice).get(url(twilio), HTTP_ACCEPT_LANGUAGE="he")
    assert page.status_code == 200
    html = page.content.decode()
    assert "1440 דקות לפני" in html  # the rule, in words
    assert "+972501111111" in html and "השיב STOP" in html  # the opt-out and why
    assert "+972502222222" in html and "נמסרה" in html  # the dispatch and its delivery status
    assert 'name="quiet_start"' in html
    # linked from the integration's settings page
    assert f'href="/integrations/{twilio.pk}/messaging"' in browser(alice).get(f"/integrations/{twilio.pk}").content.decode()


def test_a_calendar_integration_has_no_messaging_page_nor_link(alice):
    calendar = make_oauth_integration(alice, "google_calendar")
    assert browser(alice).get(url(calendar)).status_code == 404
    assert "/messaging" not in browser(alice).get(f"/integrations/{calendar.pk}").content.decode()
    assert browser(alice).post(url(calendar, "opt-outs"), {"address": "050-1234567"}).status_code == 404


def test_add_edit_and_remove_a_rule_through_the_apis_rules(alice, twilio):
    owner = browser(alice)
    added = owner.post(url(twilio, "rules"), {"enabled": "on", "entity_type": "payment", "kind": "event",
                                              "event": "status_changed", "status": "paid", "recipients": "client",
                                              "body": "התשלום התקבל, תודה"})
    assert added.status_code == 200, added.content.decode()
    rules = stored(twilio).settings["messageRules"]
    assert rules[0] == RULE and len(rules) == 2
    new = rules[1]
    assert {k: v for k, v in new.items() if k != "id"} == {
        "enabled": True, "entityType": "payment", "event": "status_changed", "status": "paid",
        "recipients": "client", "body": "התשלום התקבל, תודה"}
    # the editor opens with the stored values
    form = owner.get(url(twilio, "rule-form") + f"?rule={new['id']}").content.decode()
    assert "התשלום התקבל, תודה" in form and f'value="{new["id"]}"' in form
    # edit: it becomes a reminder; it keeps its id and place
    edited = owner.post(url(twilio, "rules"), {"rule_id": new["id"], "entity_type": "payment", "kind": "reminder",
                                               "minutes_before": "60", "recipients": "client", "body": "תזכורת"})
    assert edited.status_code == 200
    rules = stored(twilio).settings["messageRules"]
    assert rules[1] == {"id": new["id"], "enabled": False, "entityType": "payment", "minutesBefore": 60,
                        "recipients": "client", "body": "תזכורת"}
    removed = owner.post(url(twilio, "rules/delete"), {"rule_id": new["id"]})
    assert removed.status_code == 200
    assert stored(twilio).settings["messageRules"] == [RULE]


def test_a_bad_rule_is_a_400_naming_the_problem_and_changes_nothing(alice, twilio):
    owner = browser(alice)
    before = stored(twilio).settings
    not_a_number = owner.post(url(twilio, "rules"), {"entity_type": "meeting", "kind": "reminder",
                                                     "minutes_before": "soon", "recipients": "client"})
    assert not_a_number.status_code == 400
    assert 'role="alert"' in not_a_number.content.decode()
    # the adapter's own rules judge it: an entity type no rule may fire on
    refused = owner.post(url(twilio, "rules"), {"entity_type": "message", "kind": "event", "event": "created",
                                                "recipients": "client"})
    assert refused.status_code == 400
    assert "entityType" in refused.content.decode()
    gone = owner.post(url(twilio, "rules/delete"), {"rule_id": "no-such-rule"})
    assert gone.status_code == 404
    edit_gone = owner.post(url(twilio, "rules"), {"rule_id": "no-such-rule", "entity_type": "meeting",
                                                  "kind": "event", "event": "created"})
    assert edit_gone.status_code == 404
    assert owner.get(url(twilio, "rule-form") + "?rule=no-such-rule").status_code == 404
    assert stored(twilio).settings == before


def test_a_bad_rules_errors_are_in_the_pages_language_and_name_the_rule_by_its_number(alice, twilio):
    # Given a studio with one rule, adding a second one the adapter's rules refuse
    owner = browser(alice)
    post = {"entity_type": "message", "kind": "event", "event": "created", "recipients": "client"}
    hebrew = owner.post(url(twilio, "rules"), post)  # no language asked: the studio's default, Hebrew
    english = owner.post(url(twilio, "rules"), post, HTTP_ACCEPT_LANGUAGE="en")
    # Then the new rule is "rule 2", as the table numbers it, and the problem is in the page's language
    html = hebrew.content.decode()
    assert hebrew.status_code == 400
    assert '<span dir="auto">כלל 2</span>: <span dir="auto">entityType חייב להיות אחד מאלה: meeting,' in html
    assert "messageRules" not in html and "must be one of" not in html
    html = english.content.decode()
    assert english.status_code == 400
    assert '<span dir="auto">Rule 2</span>: <span dir="auto">entityType must be one of meeting,' in html
    assert stored(twilio).settings["messageRules"] == [RULE]


def test_quiet_hours_errors_are_in_the_pages_language(alice, twilio):
    owner = browser(alice)
    post = {"quiet_enabled": "on", "quiet_start": "25:00", "quiet_end": "07:00", "quiet_timezone": "Mars/Olympus"}
    hebrew = owner.post(url(twilio, "quiet-hours"), post).content.decode()
    english = owner.post(url(twilio, "quiet-hours"), post, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "start חייב להיות HH:MM (שעון 24 שעות)" in hebrew
    assert "timezone חייב להיות אזור זמן של IANA (Asia/Jerusalem)" in hebrew and "must be" not in hebrew
    assert "start must be HH:MM (24 h)" in english
    assert "timezone must be an IANA time zone (Asia/Jerusalem)" in english


def test_quiet_hours_are_saved_cleared_and_checked(alice, twilio):
    owner = browser(alice)
    saved = owner.post(url(twilio, "quiet-hours"), {"quiet_enabled": "on", "quiet_start": "21:30",
                                                    "quiet_end": "07:00", "quiet_timezone": "Asia/Jerusalem"})
    assert saved.status_code == 200
    assert stored(twilio).settings["quietHours"] == {"start": "21:30", "end": "07:00", "timezone": "Asia/Jerusalem"}
    bad = owner.post(url(twilio, "quiet-hours"), {"quiet_enabled": "on", "quiet_start": "25:00", "quiet_end": "07:00",
                                                  "quiet_timezone": "Mars/Olympus"})
    assert bad.status_code == 400
    assert stored(twilio).settings["quietHours"]["start"] == "21:30"
    cleared = owner.post(url(twilio, "quiet-hours"), {"quiet_start": "21:30", "quiet_end": "07:00"})
    assert cleared.status_code == 200
    assert stored(twilio).settings["quietHours"] is None


def test_opt_outs_are_added_as_the_sender_reads_them_and_removed(alice, twilio):
    owner = browser(alice)
    added = owner.post(url(twilio, "opt-outs"), {"address": "050-123 4567"})
    assert added.status_code == 200
    assert opt_outs(alice) == [("sms", "+972501234567", "manual")]
    again = owner.post(url(twilio, "opt-outs"), {"address": "+972501234567"})
    assert again.status_code == 200 and len(opt_outs(alice)) == 1
    bad = owner.post(url(twilio, "opt-outs"), {"address": "not a phone"})
    assert bad.status_code == 400 and len(opt_outs(alice)) == 1
    with tenant_scope(alice.tenant.id):
        row = MessageOptOut.objects.get()
    assert owner.post(url(twilio, "opt-outs/delete"), {"opt_out_id": "not-a-uuid"}).status_code == 404
    removed = owner.post(url(twilio, "opt-outs/delete"), {"opt_out_id": str(row.pk)})
    assert removed.status_code == 200
    assert opt_outs(alice) == []


def test_an_email_channel_takes_emails(alice):
    sendgrid = connect_messaging(alice, "sendgrid", rules=[])
    owner = browser(alice)
    assert owner.post(url(sendgrid, "opt-outs"), {"address": "050-1234567"}).status_code == 400
    assert owner.post(url(sendgrid, "opt-outs"), {"address": " Dana@Example.com "}).status_code == 200
    assert opt_outs(alice) == [("email", "dana@example.com", "manual")]
    # SendGrid rules read a template, its data and a subject
    added = owner.post(url(sendgrid, "rules"), {"entity_type": "client", "kind": "event", "event": "created",
                                                "recipients": "client", "template": "d-123", "subject": "ברוכים הבאים",
                                                "dynamic_data": "name = {{entity.name}}\n"})
    assert added.status_code == 200, added.content.decode()
    rule = stored(sendgrid).settings["messageRules"][0]
    assert rule["template"] == "d-123" and rule["dynamicData"] == {"name": "{{entity.name}}"}


def test_a_manual_opt_out_stops_the_sender(alice, twilio):
    from integrations.messaging.send import send_due

    browser(alice).post(url(twilio, "opt-outs"), {"address": "050-1234567"})
    with tenant_scope(alice.tenant.id):
        row = MessageDispatch.objects.create(
            tenant=alice.tenant, integration=twilio, rule_id="meeting-reminder", entity_type="meeting",
            entity_id="7a1f6e36-58d5-4c5a-9f55-0b6f1f4c2a10", occurrence="o", recipient="+972501234567",
            due_at=timezone.now() - timedelta(minutes=1))
    send_due(str(alice.tenant.id))
    with tenant_scope(alice.tenant.id):
        assert MessageDispatch.objects.get(pk=row.pk).status == MessageDispatch.Status.SKIPPED


def test_a_member_reads_the_page_but_cannot_change_it(alice, twilio):
    member = browser(persona_in(alice, "mia@example.com", "member"))
    page = member.get(url(twilio)).content.decode()
    assert 'id="managers-only"' in page and 'id="add-rule"' not in page
    assert member.post(url(twilio, "opt-outs"), {"address": "050-1234567"}).status_code == 403
    assert member.post(url(twilio, "rules/delete"), {"rule_id": "meeting-reminder"}).status_code == 403
    assert opt_outs(alice) == [] and stored(twilio).settings["messageRules"] == [RULE]


def test_csrf_and_another_studio(alice, bob, twilio):
    assert browser(alice, csrf=True).post(url(twilio, "opt-outs"), {"address": "050-1234567"}).status_code == 403
    stranger = browser(bob)
    assert stranger.get(url(twilio)).status_code == 404
    assert stranger.post(url(twilio, "rules/delete"), {"rule_id": "meeting-reminder"}).status_code == 404
    assert opt_outs(alice) == [] and stored(twilio).settings["messageRules"] == [RULE]
