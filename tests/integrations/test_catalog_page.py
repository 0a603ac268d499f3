"""The integrations page (/integrations) and its card actions (issue 14 item 2), as views.

Roles as the API's (C11): owners and admins connect and disconnect, a member reads; the
connect form posts the catalog's credential fields to the same service the API uses, which
checks them with the real test call (here Twilio's Account fetch, mocked with ``responses``
in Twilio's documented shapes); the provider's refusal is shown in words; secrets are never
rendered back.

Twilio shapes: the Account resource, https://www.twilio.com/docs/iam/api/account#fetch-an-account-resource ;
the error body of a failed authentication (code 20003), https://www.twilio.com/docs/errors/20003
and https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions .
"""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest
import responses
from django.test import Client
from django.utils import timezone, translation

from core.tenant_context import tenant_scope
from integrations.models import Integration
from integrations.providers.catalog import CATEGORIES, PROVIDERS
from integrations.services import integration_connect_credentials, provider_app_set
from tenancy.models import Membership
from tests.support.factories import persona_in

pytestmark = pytest.mark.django_db

SID = "AC0123456789abcdef0123456789abcdef"
GOOD_TOKEN = "good-auth-token-0123456789abcdef"
BAD_TOKEN = "wrong-auth-token-9876543210fedcba"
ACCOUNT_URL = f"https://api.twilio.com/2010-04-01/Accounts/{SID}.json"
ACCOUNT = {
    "auth_token": GOOD_TOKEN, "date_created": "Thu, 30 Jul 2015 20:00:00 +0000",
    "date_updated": "Thu, 30 Jul 2015 20:00:00 +0000", "friendly_name": "סטודיו", "owner_account_sid": SID,
    "sid": SID, "status": "active", "subresource_uris": {}, "type": "Full", "uri": f"/2010-04-01/Accounts/{SID}.json",
}
AUTH_FAILED = {"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003",
               "status": 401}


def twilio_account(request):
    """Twilio's Account fetch: HTTP Basic with the Account SID and its auth token."""
    header = request.headers.get("Authorization", "")
    expected = "Basic " + base64.b64encode(f"{SID}:{GOOD_TOKEN}".encode()).decode()
    if header != expected:
        return 401, {"Content-Type": "application/json", "WWW-Authenticate": 'Basic realm="Twilio API"'}, \
            json.dumps(AUTH_FAILED)
    return 200, {"Content-Type": "application/json"}, json.dumps(ACCOUNT)


@pytest.fixture
def twilio():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, ACCOUNT_URL, callback=twilio_account)
        yield mock


@pytest.fixture(autouse=True)
def _ratelimit_on_test_redis(settings):
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL


def browser(persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


@pytest.fixture
def owner(alice):
    return browser(alice)


@pytest.fixture
def member(alice):
    return browser(persona_in(alice, "mia@example.com", Membership.Role.MEMBER))


def connect_twilio(persona):
    with tenant_scope(persona.tenant.id), responses.RequestsMock() as mock:
        mock.add_callback(responses.GET, ACCOUNT_URL, callback=twilio_account)
        integration, _ = integration_connect_credentials(
            tenant_id=persona.tenant.id, user_id=persona.user.pk, provider_id="twilio",
            credentials={"accountSid": SID, "authToken": GOOD_TOKEN})
    return integration


def twilio_count(persona) -> int:
    with tenant_scope(persona.tenant.id):
        return Integration.objects.filter(provider="twilio").count()


def card_of(html: str, provider: str) -> str:
    start = html.index(f'id="provider-{provider}"')
    return html[start:html.index("</article>", start)]


# ----------------------------------------------------------------------------- the page
def test_the_page_shows_every_category_with_its_icon_and_every_provider_with_logo_name_and_status(owner):
    html = owner.get("/integrations").content.decode()
    # the seed's categories in order, each with its icon
    headings = re.findall(r'<h2 id="category-([a-z_]+)"><svg class="catalog-icon" aria-hidden="true"', html)
    assert headings == [c.id for c in CATEGORIES]
    for hebrew in ("יומן", "אחסון קבצים", "הנהלת חשבונות", "תקשורת", "תשלומים", "Webhooks"):
        assert re.search(rf"</svg>\s*{hebrew}</h2>", html), hebrew
    # every provider: its logo (never shown before), its Hebrew name and description, a badge
    for provider in PROVIDERS.values():
        card = card_of(html, provider.id)
        assert f'src="/static/integrations/logos/{provider.id}.svg"' in card
        assert f">{provider.name_he}</h3>" in card
        assert provider.description_he in card
        if provider.auth_kind != "webhook":
            assert '<span class="status disconnected"' in card and "לא מחובר" in card
    # the seed's empty state
    assert "אין אינטגרציות מחוברות" in html and "הוסף אינטגרציה" in html


def test_the_page_is_english_by_the_switch(alice):
    client = browser(alice)
    client.cookies["django_language"] = "en"
    html = client.get("/integrations").content.decode()
    assert "No integrations connected" in html
    assert re.search(r"</svg>\s*File storage</h2>", html)
    assert ">Google Calendar</h3>" in html


def test_a_connected_card_has_badge_last_sync_in_words_settings_and_disconnect(alice, owner):
    integration = connect_twilio(alice)
    with tenant_scope(alice.tenant.id):
        Integration.objects.filter(pk=integration.pk).update(
            last_sync_at=timezone.now() - timedelta(hours=3, minutes=5), last_sync_status="success")
    card = card_of(owner.get("/integrations").content.decode(), "twilio")
    assert '<span class="status connected" id="provider-twilio-status">מחובר</span>' in card
    assert re.search(r'<time datetime="[^"]+" title="[^"]*\d{4}[^"]*">לפני 3\s+שעות</time> \(הצליח\)', card), card
    assert f'href="/integrations/{integration.pk}"' in card
    assert 'data-open-dialog="disconnect-twilio"' in card
    assert 'role="dialog"' not in card and "<dialog id=\"disconnect-twilio\"" in card
    # English: Django's own units, in English
    translation.activate("en")
    try:
        from integrations.pages.catalog import relative_time

        assert relative_time(timezone.now() - timedelta(hours=3, minutes=5)) == "3\xa0hours ago"
    finally:
        translation.activate("he")


def test_the_custom_webhook_card_leads_to_the_webhook_builder(owner, member):
    for client in (owner, member):
        card = card_of(client.get("/integrations").content.decode(), "custom_webhook")
        assert 'href="/webhooks"' in card and "פתיחת בונה ה-Webhook" in card


# ----------------------------------------------------------------------------- OAuth providers
def test_an_oauth_provider_without_an_app_says_why_and_shows_an_owner_where_to_configure_it(owner, member):
    owner_card = card_of(owner.get("/integrations").content.decode(), "google_drive")
    assert "עדיין אי אפשר לחבר את Google Drive" in owner_card
    assert 'href="/admin/integrations/providerapp/add/?provider=google_drive"' in owner_card
    assert "/api/integrations/connect/google_drive" not in owner_card
    member_card = card_of(member.get("/integrations").content.decode(), "google_drive")
    assert "עדיין אי אפשר לחבר את Google Drive" in member_card
    assert "/admin/" not in member_card


def test_an_app_with_only_overrides_is_configured_on_its_change_page(owner):
    app = provider_app_set(provider_id="dropbox", api_base_url="https://api.example.com")
    card = card_of(owner.get("/integrations").content.decode(), "dropbox")
    assert f'href="/admin/integrations/providerapp/{app.pk}/change/"' in card


def test_oauth_connect_goes_through_the_api_connect_flow_with_its_binding_cookie(alice, owner, hubspot_app):
    card = card_of(owner.get("/integrations").content.decode(), "hubspot")
    link = re.search(r'<a class="button primary" href="([^"]+)">חיבור', card)
    assert link and link.group(1) == "/api/integrations/connect/hubspot"
    # following it: a redirect to the provider, and the HttpOnly nonce cookie of C11
    response = owner.get(link.group(1))
    assert response.status_code == 302 and response["Location"].startswith(hubspot_app.authorization_url)
    cookies = [c for name, c in response.cookies.items() if name.startswith("hub_oauth_")]
    assert len(cookies) == 1 and cookies[0]["httponly"] and cookies[0]["samesite"] == "Lax"


# ----------------------------------------------------------------------------- API-key connect
def test_the_connect_form_is_built_from_the_catalog_fields_with_hebrew_labels_and_help(owner):
    card = card_of(owner.get("/integrations").content.decode(), "twilio")
    assert '<form class="connect-form" id="connect-form-twilio"' in card and " hidden>" in card
    assert '<label for="cred-twilio-accountSid">Account SID</label>' in card
    assert 'id="cred-twilio-authToken" name="authToken" type="password"' in card
    assert "זה גם המפתח שבו Twilio חותם על ה-Webhook שהוא שולח." in card
    assert 'aria-describedby="cred-twilio-authToken-help"' in card
    assert "המערכת בודקת את הפרטים בפנייה אמיתית לספק" in card
    card = card_of(owner.get("/integrations").content.decode(), "apple_calendar")
    assert "סיסמה ייעודית לאפליקציה" in card and 'value="https://caldav.icloud.com"' in card
    # a provider that documents no test call says so instead
    card = card_of(owner.get("/integrations").content.decode(), "cardcom")
    assert "קארדקום אינו מציע פנייה לבדיקת הפרטים מראש" in card


def test_every_credential_help_is_translated_to_hebrew():
    from django.utils.translation import gettext

    with translation.override("he"):
        untranslated = [f.help_en for p in PROVIDERS.values() for f in p.credential_fields
                        if f.help_en and gettext(f.help_en) == f.help_en]
    assert untranslated == []


def test_a_wrong_key_is_refused_with_the_providers_error_in_words_and_no_secret_echoed(alice, owner, twilio):
    response = owner.post("/integrations/providers/twilio/connect", {"accountSid": SID, "authToken": BAD_TOKEN})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "Twilio דחה את הפרטים (HTTP 401): המפתח, שם המשתמש או הסיסמה שגויים" in html
    assert BAD_TOKEN not in html and GOOD_TOKEN not in html
    assert f'value="{SID}"' in html  # the non-secret field is kept for correcting
    assert '<form class="connect-form" id="connect-form-twilio"' in html and " hidden>" not in html
    assert twilio_count(alice) == 0
    assert len(twilio.calls) == 1  # the real test call was made


def test_the_right_key_connects_and_the_card_turns_connected(alice, owner, twilio):
    response = owner.post("/integrations/providers/twilio/connect", {"accountSid": SID, "authToken": GOOD_TOKEN})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="status connected" id="provider-twilio-status">מחובר</span>' in html
    assert 'data-announce="החיבור ל-Twilio הושלם."' in html
    assert GOOD_TOKEN not in html
    assert 'id="empty-state-slot" hx-swap-oob="true"></div>' in html  # the empty state goes away
    assert twilio_count(alice) == 1


def test_missing_and_bad_fields_answer_400_with_the_field_marked(alice, owner, twilio):
    response = owner.post("/integrations/providers/twilio/connect", {"accountSid": SID, "authToken": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-invalid="true"' in html and "זהו שדה חובה." in html
    assert len(twilio.calls) == 0
    response = owner.post("/integrations/providers/custom_api/connect", {"baseUrl": "ftp://nope"})
    assert response.status_code == 400
    assert "יש להזין כתובת שמתחילה ב-https://" in response.content.decode()
    response = owner.post("/integrations/providers/twilio/connect", {"accountSid": SID, "authToken": "x",
                                                                     "surprise": "1"})
    assert response.status_code == 400
    response = owner.post("/integrations/providers/no_such_provider/connect", {})
    assert response.status_code == 404
    response = owner.post("/integrations/providers/hubspot/connect", {})
    assert response.status_code == 400
    assert twilio_count(alice) == 0


def test_get_on_a_mutating_url_is_405(owner):
    assert owner.get("/integrations/providers/twilio/connect").status_code == 405
    assert owner.get("/integrations/providers/twilio/disconnect").status_code == 405


# ----------------------------------------------------------------------------- disconnect
def test_disconnect_removes_the_integration_and_answers_the_disconnected_card(alice, owner):
    connect_twilio(alice)
    response = owner.post("/integrations/providers/twilio/disconnect")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="status disconnected"' in html
    assert 'id="empty-state"' in html  # nothing connected any more
    assert twilio_count(alice) == 0
    assert owner.post("/integrations/providers/twilio/disconnect").status_code == 404


def test_another_studio_cannot_disconnect_or_see_this_studios_integration(alice, bob):
    connect_twilio(alice)
    other = browser(bob)
    assert other.post("/integrations/providers/twilio/disconnect").status_code == 404
    assert 'class="status connected"' not in card_of(other.get("/integrations").content.decode(), "twilio")
    assert twilio_count(alice) == 1


# ----------------------------------------------------------------------------- roles and CSRF
def test_a_member_sees_the_page_without_mutating_controls(alice, member, hubspot_app):
    integration = connect_twilio(alice)
    html = member.get("/integrations").content.decode()
    assert 'id="managers-only"' in html
    assert "hx-post" not in html and "<form class=\"connect-form\"" not in html
    assert "data-open-dialog" not in html and "data-toggle-form" not in html
    assert "/api/integrations/connect/" not in html
    assert f'href="/integrations/{integration.pk}"' in html  # settings, read-only, stays


def test_a_members_posts_answer_403_and_change_nothing(alice, member, twilio):
    connect_twilio(alice)
    assert member.post("/integrations/providers/twilio/disconnect").status_code == 403
    response = member.post("/integrations/providers/sendgrid/connect", {"apiKey": "SG.x"})
    assert response.status_code == 403
    assert "רק הבעלים והמנהלים של הסטודיו" in response.content.decode()
    assert twilio_count(alice) == 1
    assert len(twilio.calls) == 0


def test_visitors_are_sent_to_sign_in_and_cannot_post(alice):
    anonymous = Client()
    assert anonymous.get("/integrations")["Location"].startswith("/login?next=/integrations")
    assert anonymous.post("/integrations/providers/twilio/connect", {"accountSid": SID}).status_code == 403


def test_csrf_is_enforced_on_the_card_actions(alice, twilio):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice.user)
    refused = client.post("/integrations/providers/twilio/connect", {"accountSid": SID, "authToken": GOOD_TOKEN})
    assert refused.status_code == 403
    assert twilio_count(alice) == 0
    page = client.get("/integrations").content.decode()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    accepted = client.post("/integrations/providers/twilio/connect", {"accountSid": SID, "authToken": GOOD_TOKEN},
                           HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true")
    assert accepted.status_code == 200
    assert twilio_count(alice) == 1


def test_the_card_url_answers_the_card_as_it_is_now(alice, owner):
    assert 'class="status disconnected"' in owner.get("/integrations/providers/twilio/card").content.decode()
    connect_twilio(alice)
    assert 'class="status connected"' in owner.get("/integrations/providers/twilio/card").content.decode()
    assert owner.get("/integrations/providers/nope/card").status_code == 404


def test_a_provider_without_a_test_call_connects_and_says_the_first_sync_will_check(alice, owner):
    with responses.RequestsMock() as mock:  # no call leaves the hub
        response = owner.post("/integrations/providers/cardcom/connect",
                              {"terminalNumber": "1000", "apiName": "studio-api", "apiPassword": "cardcom-secret-1"})
    assert response.status_code == 200 and len(mock.calls) == 0
    html = response.content.decode()
    assert 'data-announce="החיבור ל-קארדקום נשמר; הספק אינו מציע פנייה לבדיקת הפרטים' in html
    assert "cardcom-secret-1" not in html
    assert '<span class="status connected"' in html


def test_an_admin_manages_like_the_owner(alice, twilio):
    admin = browser(persona_in(alice, "adam@example.com", Membership.Role.ADMIN))
    card = card_of(admin.get("/integrations").content.decode(), "twilio")
    assert 'data-toggle-form="connect-form-twilio"' in card and 'id="managers-only"' not in card
    assert admin.post("/integrations/providers/twilio/connect",
                      {"accountSid": SID, "authToken": GOOD_TOKEN}).status_code == 200
    assert admin.post("/integrations/providers/twilio/disconnect").status_code == 200
    assert twilio_count(alice) == 0
