"""Messaging settings through the API (issue 16): the seed's WhatsAppConfig flags, rules,
quiet hours; bad values are a 400 naming each key and change nothing."""

from __future__ import annotations

import pytest

from core.tenant_context import tenant_scope
from tests.support.messaging import connect_messaging

pytestmark = pytest.mark.django_db

RULE = {"id": "meeting-reminder", "entityType": "meeting", "minutesBefore": 1440, "recipients": "attendees",
        "template": "meeting_reminder", "language": "he", "parameters": ["{{entity.title}}"]}


def test_defaults_follow_the_seed_and_good_settings_are_stored(alice, alice_api):
    integration = connect_messaging(alice, "whatsapp_business", rules=[])
    assert {k: integration.settings[k] for k in ("sendPaymentReminders", "sendMeetingReminders", "sendDeliveryUpdates",
                                                 "logIncomingMessages", "logOutgoingMessages")} == dict.fromkeys(
        ("sendPaymentReminders", "sendMeetingReminders", "sendDeliveryUpdates", "logIncomingMessages",
         "logOutgoingMessages"), True)
    response = alice_api.patch(f"/api/integrations/{integration.pk}", {"settings": {
        "messageRules": [RULE], "quietHours": {"start": "21:00", "end": "08:00", "timezone": "Asia/Jerusalem"}}},
        format="json")
    assert response.status_code == 200, response.json()
    with tenant_scope(alice.tenant.id):
        integration.refresh_from_db()
    assert integration.settings["messageRules"] == [RULE]


def test_bad_settings_are_a_400_naming_each_key_and_change_nothing(alice, alice_api):
    integration = connect_messaging(alice, "twilio", rules=[])
    bad = alice_api.patch(f"/api/integrations/{integration.pk}", {"settings": {
        "messageRules": [{**RULE, "id": "a b", "minutesBefore": -5, "recipients": "everyone"},
                         {"id": "x", "entityType": "message", "event": "created"}],
        "quietHours": {"start": "25:00", "end": "08:00", "timezone": "Mars/Olympus"},
        "sendMeetingReminders": "yes", "colour": "red"}}, format="json")
    assert bad.status_code == 400
    fields = bad.json()["error"]["fields"]["settings"]
    assert set(fields) >= {"messageRules[0]", "messageRules[1]", "quietHours", "sendMeetingReminders", "colour"}
    assert any("template" in problem for problem in fields["messageRules[0]"])  # Twilio reads body, not template
    with tenant_scope(alice.tenant.id):
        integration.refresh_from_db()
    assert integration.settings["messageRules"] == []


def test_the_settings_errors_follow_the_request_language_hebrew_by_default(alice, alice_api):
    # Given a bad rule and bad quiet hours, asked with no language, in Hebrew, and in English
    integration = connect_messaging(alice, "twilio", rules=[])
    body = {"settings": {"messageRules": [{"id": "r1", "entityType": "message", "event": "created"}],
                         "quietHours": {"start": "25:00", "end": "08:00"}, "sendMeetingReminders": "yes"}}
    path = f"/api/integrations/{integration.pk}"
    default = alice_api.patch(path, body, format="json").json()["error"]["fields"]["settings"]
    hebrew = alice_api.patch(path, body, format="json", HTTP_ACCEPT_LANGUAGE="he").json()["error"]["fields"]["settings"]
    english = alice_api.patch(path, body, format="json", HTTP_ACCEPT_LANGUAGE="en").json()["error"]["fields"]["settings"]
    # Then the studio's default language is Hebrew, with the values filled into the placeholders
    assert default == hebrew
    assert hebrew["messageRules[0]"] == [
        "entityType חייב להיות אחד מאלה: meeting, payment, task, client, document, expense"]
    assert hebrew["quietHours"] == ["start חייב להיות HH:MM (שעון 24 שעות)"]
    assert hebrew["sendMeetingReminders"] == ["חייב להיות true או false"]
    # and an English request gets the English messages
    assert english["messageRules[0]"] == ["entityType must be one of meeting, payment, task, client, document, expense"]
    assert english["quietHours"] == ["start must be HH:MM (24 h)"]
    assert english["sendMeetingReminders"] == ["must be true or false"]
