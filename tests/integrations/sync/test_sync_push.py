"""Realtime import through provider push (issue 11 item 8), end to end against the fakes:
the Google Calendar fake's watch channels and the Graph fake's subscriptions call the hub's
live server (pytest-django ``live_server``) exactly as the providers do; the hub opens,
renews and stops channels, verifies each notification's token / clientState and starts a
coalesced import run through the sync engine. Long on purpose: both providers' push
lifecycles, end to end, in one place.

Documents the shapes follow: https://developers.google.com/calendar/api/guides/push ,
https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks ,
https://learn.microsoft.com/en-us/graph/api/subscription-post-subscriptions .
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from core.tenant_context import tenant_scope
from integrations.models import Integration, IntegrationLog, PushChannel
from integrations.services import provider_app_set
from integrations.sync.push import push_maintain, realtime_poll_due
from integrations.tasks import push_reconcile_integration
from tests.support.factories import client_for
from tests.support.oauth import make_oauth_integration
from tests.support.sync_runs import meetings
from tests.support.waiting import wait_until

CAL = "studio@example.com"
TIMED = {"start": {"dateTime": "2026-12-03T10:00:00+02:00"}, "end": {"dateTime": "2026-12-03T11:00:00+02:00"}}
REALTIME = {"enabled": True, "frequency": "realtime", "direction": "import",
            "entities": [{"localEntity": "meeting", "remoteEntity": "event", "direction": "import"}]}


@pytest.fixture(autouse=True)
def _hub_at_live_server(settings, live_server, limiter_on_test_redis):
    """The hub's public URL is the live server the fakes post to; the rate limiter on the test
    Redis (``limiter_on_test_redis``; its buckets emptied by the autouse ``_fresh_provider_limits``)."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.INTEGRATIONS_PUSH_ALLOW_HTTP = True  # the live server has no TLS


@pytest.fixture
def google(alice, google_calendar_fake):
    provider_app_set(provider_id="google_calendar", client_id="gid.apps.googleusercontent.com", client_secret="gs",
                     api_base_url=google_calendar_fake.base_url)
    google_calendar_fake.add_calendar(CAL, "Studio", primary=True)
    integration = make_oauth_integration(alice, "google_calendar", access="ya29.a0AfH6SMB")
    return integration, google_calendar_fake


def _patch(persona, integration, **body):
    response = client_for(persona).patch(f"/api/integrations/{integration.pk}", body, format="json")
    assert response.status_code == 200, response.content
    return response


def _reconcile(integration):
    """What the worker runs after the PATCH commits (integrations.tasks.push_reconcile_integration)."""
    return push_reconcile_integration(str(integration.pk), str(integration.tenant_id))


def _channels(integration) -> list[PushChannel]:
    with tenant_scope(integration.tenant_id):
        return list(PushChannel.objects.filter(integration=integration).order_by("created_at"))


def _runs(integration) -> list[IntegrationLog]:
    with tenant_scope(integration.tenant_id):
        return list(IntegrationLog.objects.filter(integration=integration, status="running"))


def _enable_google(alice, integration, fake) -> PushChannel:
    _patch(alice, integration, syncSettings=REALTIME,
           settings={"calendars": [{"calendarId": CAL, "calendarName": "Studio", "syncEnabled": True}]})
    assert _reconcile(integration)["created"] == 1
    (channel,) = _channels(integration)
    return channel


# ---------------------------------------------------------------- Google
def test_enabling_realtime_opens_a_google_channel_whose_sync_handshake_is_answered(alice, google):
    integration, fake = google
    # when
    channel = _enable_google(alice, integration, fake)
    # then: events.watch with our channel id, web_hook, the public address and a secret token
    (watch,) = [r for r in fake.requests if r.path.endswith("/events/watch")]
    body = watch.body
    assert body["id"] == str(channel.pk) == channel.channel_id
    assert body["type"] == "web_hook"
    assert body["address"] == f"{integration_url()}/api/integrations/push/google/{channel.pk}"
    assert len(body["token"]) >= 32 and body["token"].encode() not in bytes(channel.token_encrypted)
    assert channel.get_secret("token_encrypted") == body["token"]
    assert channel.container == CAL and channel.resource_id
    assert channel.expires_at > timezone.now() + timedelta(days=6)
    # and Google's "sync" message reached the hub and was answered 200 without starting a run
    (sync,) = fake.wait_for_notifications(1)
    assert sync["headers"]["X-Goog-Resource-State"] == "sync" and sync["status"] == 200
    assert _runs(integration) == []


def integration_url() -> str:
    from django.conf import settings

    return settings.PUBLIC_BASE_URL


def test_a_google_change_starts_one_import_run_and_a_burst_is_coalesced(alice, google):
    integration, fake = google
    _enable_google(alice, integration, fake)
    fake.wait_for_notifications(1)
    # when: an event is added in Google, then another at once
    fake.put_event(CAL, summary="Site visit", **TIMED)
    first = fake.wait_for_notifications(2)[1]
    fake.put_event(CAL, summary="Client call", **TIMED)
    second = fake.wait_for_notifications(3)[2]
    # then: both notifications answered 200, one run, and one more asked for
    assert (first["headers"]["X-Goog-Resource-State"], first["status"]) == ("exists", 200)
    assert second["status"] == 200
    (run,) = _runs(integration)
    assert run.action == "import"
    (channel,) = _channels(integration)
    assert channel.rerun_requested and channel.last_notified_at is not None


def test_realtime_end_to_end_a_google_edit_becomes_a_meeting_through_the_sync_worker(alice, google, sync_worker):  # noqa: F811
    integration, fake = google
    # given: realtime import turned on through the API; the worker opens the channel after the commit
    _patch(alice, integration, syncSettings=REALTIME,
           settings={"calendars": [{"calendarId": CAL, "calendarName": "Studio", "syncEnabled": True}]})
    wait_until(lambda: _channels(integration), 10, what="the push channel")
    fake.wait_for_notifications(1)
    # when: someone adds an event in Google Calendar
    fake.put_event(CAL, summary="Site visit from Google", **TIMED)
    # then: Google's notification reaches the hub, the run imports the event
    wait_until(lambda: "Site visit from Google" in meetings(alice), 15, what="the imported meeting")
    assert fake.wait_for_notifications(2)[1]["status"] == 200


def test_a_rerun_asked_for_during_a_run_starts_once_it_ended_and_the_rate_window_passed(alice, google):
    integration, fake = google
    _enable_google(alice, integration, fake)
    fake.put_event(CAL, summary="Site visit", **TIMED)
    fake.wait_for_notifications(2)
    (run,) = _runs(integration)
    with tenant_scope(integration.tenant_id):  # the run ends; a notification arrives right after it
        IntegrationLog.objects.filter(pk=run.pk).update(status="success")
    fake.put_event(CAL, summary="Client call", **TIMED)
    assert fake.wait_for_notifications(3)[2]["status"] == 200
    assert _runs(integration) == []  # within the rate window: remembered, not started
    assert push_maintain()["rerun"] == 0  # still within it
    with tenant_scope(integration.tenant_id):
        PushChannel.objects.filter(integration=integration).update(
            last_triggered_at=timezone.now() - timedelta(seconds=10))
    # when the maintenance beat runs after the window
    assert push_maintain()["rerun"] == 1
    # then: exactly one more run, and nothing left asked for
    assert len(_runs(integration)) == 1
    assert not any(c.rerun_requested for c in _channels(integration))


def _google_headers(notification: dict, **override) -> dict:
    headers = {**notification["headers"], **override}
    return {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}


def test_a_google_notification_with_a_wrong_token_or_channel_starts_nothing(alice, google):
    integration, fake = google
    channel = _enable_google(alice, integration, fake)
    fake.put_event(CAL, summary="Site visit", **TIMED)
    real = fake.wait_for_notifications(2)[1]
    with tenant_scope(integration.tenant_id):
        IntegrationLog.objects.filter(integration=integration).delete()
    path = urlsplit(real["address"]).path
    web = Client()
    # a forged token: refused, no run
    forged = web.post(path, **_google_headers(real, **{"X-Goog-Channel-Token": "guess"}))
    assert forged.status_code == 403
    # the right token on another channel's URL, or a channel id not matching its URL: 404 (Google stops)
    other = web.post(path.replace(str(channel.pk), "0" * 8 + str(channel.pk)[8:]), **_google_headers(real))
    mismatched = web.post(path, **_google_headers(real, **{"X-Goog-Channel-ID": "someone-else"}))
    assert (other.status_code, mismatched.status_code) == (404, 404)
    assert _runs(integration) == []
    # an expired channel: 404
    with tenant_scope(integration.tenant_id):
        PushChannel.objects.filter(pk=channel.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert web.post(path, **_google_headers(real)).status_code == 404
    assert _runs(integration) == []


def test_google_channels_are_renewed_before_expiry_new_channel_first(alice, google):
    integration, fake = google
    old = _enable_google(alice, integration, fake)
    with tenant_scope(integration.tenant_id):
        PushChannel.objects.filter(pk=old.pk).update(expires_at=timezone.now() + timedelta(hours=3))
    # when
    result = push_maintain()
    # then: a new channel, the old one stopped at Google and forgotten
    assert result["renewed"] == 1
    (new,) = _channels(integration)
    assert new.pk != old.pk and new.expires_at > timezone.now() + timedelta(days=6)
    stops = [r.body for r in fake.requests if r.path.endswith("/channels/stop")]
    assert stops == [{"id": old.channel_id, "resourceId": old.resource_id}]
    watches = [r for r in fake.requests if r.path.endswith("/events/watch")]
    assert len(watches) == 2 and fake.requests.index(watches[1]) < fake.requests.index(
        next(r for r in fake.requests if r.path.endswith("/channels/stop")))


def test_turning_realtime_off_or_disconnecting_stops_the_channels(alice, google):
    integration, fake = google
    channel = _enable_google(alice, integration, fake)
    # when: hourly instead of realtime
    _patch(alice, integration, syncSettings={**REALTIME, "frequency": "hourly"})
    assert _reconcile(integration)["stopped"] == 1
    assert _channels(integration) == []
    assert [r.body["id"] for r in fake.requests if r.path.endswith("/channels/stop")] == [str(channel.pk)]
    # when: realtime again, then disconnected
    _patch(alice, integration, syncSettings=REALTIME)
    _reconcile(integration)
    (again,) = _channels(integration)
    response = client_for(alice).delete(f"/api/integrations/{integration.pk}")
    assert response.status_code == 204
    stopped = [r.body["id"] for r in fake.requests if r.path.endswith("/channels/stop")]
    assert stopped == [str(channel.pk), str(again.pk)]
    with tenant_scope(integration.tenant_id):
        assert not PushChannel.objects.exists()


def test_export_only_or_manual_integrations_open_no_channel(alice, google):
    integration, fake = google
    _patch(alice, integration, syncSettings={**REALTIME, "direction": "export", "entities": [
        {"localEntity": "meeting", "remoteEntity": "event", "direction": "export"}]})
    assert _reconcile(integration)["created"] == 0
    _patch(alice, integration, syncSettings={**REALTIME, "direction": "import", "frequency": "manual"})
    assert _reconcile(integration)["created"] == 0
    assert not [r for r in fake.requests if r.path.endswith("/events/watch")]


def test_without_an_https_public_url_no_channel_is_asked_for(alice, google, settings):
    integration, fake = google
    settings.INTEGRATIONS_PUSH_ALLOW_HTTP = False  # production: Google delivers to https only
    _patch(alice, integration, syncSettings=REALTIME)
    assert _reconcile(integration)["created"] == 0
    assert not [r for r in fake.requests if r.path.endswith("/events/watch")]


# ---------------------------------------------------------------- Graph
@pytest.fixture
def outlook(alice, graph_calendar):
    provider_app_set(provider_id="outlook_calendar", client_id="graph-client", client_secret="graph-secret",
                     api_base_url=graph_calendar.url)
    integration = make_oauth_integration(alice, "outlook_calendar", access=graph_calendar.token, refresh="graph-rt")
    return integration, graph_calendar


def _enable_outlook(alice, integration, fake) -> PushChannel:
    calendar = fake.default_calendar_id
    _patch(alice, integration, syncSettings=REALTIME,
           settings={"calendars": [{"calendarId": calendar, "calendarName": "Calendar", "syncEnabled": True}]})
    assert _reconcile(integration)["created"] == 1
    (channel,) = _channels(integration)
    return channel


def test_enabling_realtime_creates_a_graph_subscription_after_the_validation_handshake(alice, outlook):
    integration, fake = outlook
    # when
    channel = _enable_outlook(alice, integration, fake)
    # then: Graph validated the URL (token echoed as text/plain) and created the subscription
    (validation,) = fake.notifications
    assert validation["status"] == 200 and validation["text"] == validation["validationToken"]
    assert validation["content_type"].startswith("text/plain")
    assert validation["url"] == f"{integration_url()}/api/integrations/push/graph/{channel.pk}"
    (subscription,) = fake.subscriptions.values()
    assert subscription["id"] == channel.channel_id
    assert subscription["changeType"] == "created,updated,deleted"
    assert subscription["resource"] == f"me/calendars/{fake.default_calendar_id}/events"
    assert subscription["clientState"] == channel.get_secret("token_encrypted")
    assert channel.expires_at > timezone.now() + timedelta(days=6)
    assert _runs(integration) == []


def test_graph_validation_echoes_any_token_decoded_as_plain_text(alice):
    response = Client().post("/api/integrations/push/graph/2d4b4f1e-0f5c-4d5e-9f0a-1b2c3d4e5f60"
                             "?validationToken=Validation%3A%20Testing%20client%20application%20reachability",
                             content_type="text/plain")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"Validation: Testing client application reachability"


def test_a_graph_change_notification_with_its_client_state_starts_an_import_run(alice, outlook):
    integration, fake = outlook
    _enable_outlook(alice, integration, fake)
    # when: the user adds an event in Outlook
    fake.user_creates("Site visit", timezone.now() + timedelta(days=1))
    # then: Graph posted the notification, the hub answered 202 and started a run
    notification = fake.notifications[-1]
    assert notification["body"]["value"][0]["changeType"] == "created"
    assert notification["status"] == 202
    (run,) = _runs(integration)
    assert run.action == "import"


def test_a_graph_notification_with_a_wrong_client_state_starts_nothing(alice, outlook):
    integration, fake = outlook
    channel = _enable_outlook(alice, integration, fake)
    event = fake.user_creates("Site visit", timezone.now() + timedelta(days=1))
    with tenant_scope(integration.tenant_id):
        IntegrationLog.objects.filter(integration=integration).delete()
    url = f"{integration_url()}/api/integrations/push/graph/{channel.pk}"
    # when: a forger replays the shape with a guessed clientState (one good item is not enough)
    forged = fake.notification_body(channel.channel_id, "updated", event.id, client_state="guess")
    mixed = fake.notification_body(channel.channel_id, "updated", event.id)
    mixed["value"].append(forged["value"][0])
    answers = [fake.send_notification(url, forged), fake.send_notification(url, mixed)]
    # then: 202 (Graph must not retry) and no run
    assert [a["status"] for a in answers] == [202, 202]
    assert _runs(integration) == []
    # an unknown subscription row: 404
    missing = fake.send_notification(url.replace(str(channel.pk)[:8], "00000000"), mixed)
    assert missing["status"] == 404


def test_graph_subscriptions_are_renewed_in_place_and_deleted_on_disconnect(alice, outlook):
    integration, fake = outlook
    channel = _enable_outlook(alice, integration, fake)
    with tenant_scope(integration.tenant_id):
        PushChannel.objects.filter(pk=channel.pk).update(expires_at=timezone.now() + timedelta(hours=2))
    fake.subscriptions[channel.channel_id]["expirationDateTime"] = (
        (timezone.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z"))
    # when
    assert push_maintain()["renewed"] == 1
    # then: PATCH /subscriptions/{id}, same row, new expiry at Graph and here
    assert fake.count("PATCH", f"/subscriptions/{channel.channel_id}") == 1
    (renewed,) = _channels(integration)
    assert renewed.pk == channel.pk and renewed.renewed_at is not None
    assert renewed.expires_at > timezone.now() + timedelta(days=6)
    # when: disconnected
    assert client_for(alice).delete(f"/api/integrations/{integration.pk}").status_code == 204
    assert fake.count("DELETE", f"/subscriptions/{channel.channel_id}") == 1
    assert fake.subscriptions == {}


def test_a_graph_subscription_gone_at_renewal_is_replaced(alice, outlook):
    integration, fake = outlook
    channel = _enable_outlook(alice, integration, fake)
    with tenant_scope(integration.tenant_id):
        PushChannel.objects.filter(pk=channel.pk).update(expires_at=timezone.now() + timedelta(hours=2))
    fake.subscriptions.clear()  # Graph removed it (e.g. after missed deliveries)
    # when
    result = push_maintain()
    # then: the PATCH answered 404, a new subscription took its place
    assert fake.count("PATCH", f"/subscriptions/{channel.channel_id}") == 1
    assert (result["failed"], result["created"]) == (1, 1)
    (replacement,) = _channels(integration)
    assert replacement.pk != channel.pk and list(fake.subscriptions) == [replacement.channel_id]


def test_realtime_end_to_end_an_outlook_edit_becomes_a_meeting_through_the_sync_worker(alice, outlook, sync_worker):  # noqa: F811
    integration, fake = outlook
    calendar = fake.default_calendar_id
    _patch(alice, integration, syncSettings=REALTIME,
           settings={"calendars": [{"calendarId": calendar, "calendarName": "Calendar", "syncEnabled": True}]})
    # the channel row is committed before Graph is asked (push._open): wait for Graph's side too
    wait_until(lambda: _channels(integration) and fake.subscriptions, 10, what="the Graph subscription")
    # when: someone adds an event in Outlook; Graph notifies the hub
    fake.user_creates("Site visit from Outlook", timezone.now() + timedelta(days=1))
    # then
    assert fake.notifications[-1]["status"] == 202
    wait_until(lambda: "Site visit from Outlook" in meetings(alice), 15, what="the imported meeting")


# ---------------------------------------------------------------- isolation and polling
def test_channels_are_tenant_data_and_one_tenants_token_opens_nothing_of_anothers(alice, bob, google):
    integration, fake = google
    channel = _enable_google(alice, integration, fake)
    bob_integration = make_oauth_integration(bob, "google_calendar", access="ya29.bob")
    bob_channel = _enable_google(bob, bob_integration, fake)
    # RLS: bob's scope neither sees nor changes alice's channel
    with tenant_scope(bob.tenant.id):
        assert list(PushChannel.objects.values_list("pk", flat=True)) == [bob_channel.pk]
        assert PushChannel.objects.filter(pk=channel.pk).update(rerun_requested=True) == 0
    from django.db import transaction

    with transaction.atomic():  # no tenant: nothing, unless the channel's own id is presented
        assert not PushChannel.objects.exists()
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('app.push_channel_id', %s, true)", [str(channel.pk)])
        assert list(PushChannel.objects.values_list("pk", flat=True)) == [channel.pk]
        assert PushChannel.objects.filter(pk=channel.pk).update(rerun_requested=True) == 0  # read only
    # bob's channel token on alice's channel URL (with her channel id): refused, no run anywhere
    headers = {"X-Goog-Channel-ID": str(channel.pk), "X-Goog-Resource-ID": channel.resource_id,
               "X-Goog-Resource-State": "exists", "X-Goog-Channel-Token": bob_channel.get_secret("token_encrypted")}
    answer = Client().post(f"/api/integrations/push/google/{channel.pk}", **_google_headers({"headers": headers}))
    assert answer.status_code == 403
    assert _runs(integration) == [] and _runs(bob_integration) == []


def test_disabling_one_calendar_stops_only_its_channel(alice, google):
    integration, fake = google
    fake.add_calendar("team@group.calendar.google.com", "Team")
    calendars = [{"calendarId": CAL, "calendarName": "Studio", "syncEnabled": True},
                 {"calendarId": "team@group.calendar.google.com", "calendarName": "Team", "syncEnabled": True}]
    _patch(alice, integration, syncSettings=REALTIME, settings={"calendars": calendars})
    assert _reconcile(integration)["created"] == 2
    # when: the team calendar is no longer synced
    calendars[1]["syncEnabled"] = False
    _patch(alice, integration, settings={"calendars": calendars})
    result = _reconcile(integration)
    # then
    assert (result["created"], result["stopped"]) == (0, 1)
    assert [c.container for c in _channels(integration)] == [CAL]


def test_realtime_without_push_is_polled_every_five_minutes(alice):
    with tenant_scope(alice.tenant.id):
        caldav = Integration.objects.create(
            tenant=alice.tenant, provider="apple_calendar", name="iCloud", connected_by=alice.user,
            status="connected", sync_settings={**REALTIME, "entities": [{"localEntity": "meeting",
                                                                         "remoteEntity": "VEVENT",
                                                                         "direction": "import"}]},
            last_sync_at=timezone.now() - timedelta(minutes=2))
    # a sync two minutes ago: not yet
    assert realtime_poll_due() == 0
    # six minutes later: one run
    assert realtime_poll_due(now=timezone.now() + timedelta(minutes=4)) == 1
    assert len(_runs(caldav)) == 1


def test_a_pushed_calendar_is_polled_only_after_an_hour_of_silence(alice, google):
    integration, fake = google
    _enable_google(alice, integration, fake)
    with tenant_scope(integration.tenant_id):
        Integration.objects.filter(pk=integration.pk).update(last_sync_at=timezone.now() - timedelta(minutes=30))
    assert realtime_poll_due() == 0  # push works: no 5-minute poll
    assert realtime_poll_due(now=timezone.now() + timedelta(minutes=31)) == 1  # an hour without a sync
    assert len(_runs(integration)) == 1


def test_operators_see_channels_in_the_admin_without_their_token(alice, google):
    from django.contrib.auth import get_user_model

    integration, fake = google
    channel = _enable_google(alice, integration, fake)
    staff = get_user_model().objects.create_superuser("op", "op@example.com", "pw-123456789")
    web = Client()
    web.force_login(staff)
    listing = web.get("/admin/integrations/pushchannel/")
    page = web.get(f"/admin/integrations/pushchannel/{channel.pk}/change/")
    assert listing.status_code == 200 and CAL in listing.content.decode()
    assert page.status_code == 200
    token = channel.get_secret("token_encrypted")
    assert token not in listing.content.decode() and token not in page.content.decode()
    assert "token_encrypted" not in page.content.decode()
