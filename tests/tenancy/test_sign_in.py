"""Studio sign-in (issue 14 item 1): /login with email and password (not the admin's login),
/logout by POST, password reset by email through Django's views, in Hebrew; the commands set
passwords; repeated failures are slowed down."""

from __future__ import annotations

import io
import json
import re

import pytest
import redis
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client

from tenancy.models import User
from tenancy.signin import FAILURES_PREFIX

pytestmark = pytest.mark.django_db
PASSWORD = "Secret-pass-1234"


def _clear_limits():
    cache.clear()
    if settings.REDIS_URL:
        shared = redis.Redis.from_url(settings.REDIS_URL)
        for key in shared.scan_iter(FAILURES_PREFIX + "*"):
            shared.delete(key)


@pytest.fixture(autouse=True)
def _fresh_limits():
    _clear_limits()
    yield
    _clear_limits()


def _command(*args) -> dict:
    out = io.StringIO()
    call_command(*args, stdout=out)
    text = out.getvalue()
    assert text.count("\n") == 1
    return json.loads(text)


@pytest.fixture
def owner() -> dict:
    return _command("create_tenant", "סטודיו כהן", "--email", "Owner@Cohen.example", "--password", PASSWORD)


def test_login_page_is_hebrew_with_email_and_password(client):
    response = client.get("/login")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="he"' in html and 'dir="rtl"' in html
    assert "כניסה" in html
    assert 'type="email"' in html and 'type="password"' in html
    assert "/admin/" not in html  # the studio's own page, not the admin's


def test_wrong_password_is_a_hebrew_error_and_right_one_lands_on_integrations(client, owner):
    response = client.post("/login", {"username": "owner@cohen.example", "password": "nope"})
    assert response.status_code == 200
    assert "הדוא״ל או הסיסמה שגויים" in response.content.decode()
    assert "_auth_user_id" not in client.session

    response = client.post("/login", {"username": "OWNER@cohen.example", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/integrations"
    assert client.session["_auth_user_id"] == owner["userId"]
    assert client.get("/integrations").status_code == 200


def test_login_follows_next_only_on_this_site(client, owner):
    response = client.post("/login?next=/integrations%3Ftenant%3Dx", {"username": "owner@cohen.example",
                                                                     "password": PASSWORD})
    assert response["Location"] == "/integrations?tenant=x"
    client.post("/logout")
    response = client.post("/login?next=https://evil.example/", {"username": "owner@cohen.example",
                                                                "password": PASSWORD})
    assert response["Location"] == "/integrations"


def test_pages_send_anonymous_visitors_to_the_studio_login(client):
    response = client.get("/integrations")
    assert response.status_code == 302
    assert response["Location"] == "/login?next=/integrations"


def test_logout_is_post_only_and_ends_the_session(client, owner):
    client.post("/login", {"username": "owner@cohen.example", "password": PASSWORD})
    assert client.get("/logout").status_code == 405
    response = client.post("/logout")
    assert response.status_code == 302 and response["Location"] == "/login"
    assert client.get("/integrations").status_code == 302


def test_repeated_wrong_passwords_are_refused_for_a_while(client, owner):
    for _ in range(5):
        client.post("/login", {"username": "owner@cohen.example", "password": "wrong"})
    response = client.post("/login", {"username": "owner@cohen.example", "password": PASSWORD})
    assert response.status_code == 429
    assert "יותר מדי ניסיונות" in response.content.decode()
    assert "_auth_user_id" not in client.session
    other = Client(REMOTE_ADDR="10.0.0.9")  # another address, same account: still limited
    assert other.post("/login", {"username": "owner@cohen.example", "password": PASSWORD}).status_code == 429
    if settings.REDIS_URL:  # counted where every web process sees it, expiring with the window
        shared = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(shared.scan_iter(FAILURES_PREFIX + "email:*"))
        assert len(keys) == 1 and int(shared.get(keys[0])) == 5
        assert 0 < shared.ttl(keys[0]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS


def test_password_reset_mails_a_hebrew_link_that_sets_a_new_password(client, owner):
    response = client.get("/password-reset/")
    assert response.status_code == 200 and "איפוס סיסמה" in response.content.decode()
    response = client.post("/password-reset/", {"email": "owner@cohen.example"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/done/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@cohen.example"]
    assert "איפוס סיסמה" in message.subject
    link = re.search(r"http://testserver(/password-reset/[^\s]+/)", message.body).group(1)

    response = client.get(link, follow=True)
    assert response.status_code == 200 and "סיסמה חדשה" in response.content.decode()
    form_url = response.redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": "Another-pass-5678", "new_password2": "Another-pass-5678"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/complete/"
    assert User.objects.get(email="owner@cohen.example").check_password("Another-pass-5678")


def test_password_reset_for_an_unknown_email_says_the_same_and_sends_nothing(client):
    response = client.post("/password-reset/", {"email": "nobody@cohen.example"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/done/"
    assert mail.outbox == []


def test_add_member_sets_a_password_and_keeps_its_json_contract(client, owner):
    data = _command("add_member", owner["tenantId"], "--email", "member@cohen.example", "--role", "member",
                    "--password", PASSWORD)
    assert set(data) == {"tenantId", "userId", "email", "role", "token"}
    response = client.post("/login", {"username": "member@cohen.example", "password": PASSWORD})
    assert response.status_code == 302


def test_add_member_without_password_leaves_it_unusable_and_a_short_one_is_refused(owner):
    _command("add_member", owner["tenantId"], "--email", "m2@cohen.example", "--role", "member")
    assert not User.objects.get(email="m2@cohen.example").has_usable_password()
    with pytest.raises(CommandError, match="password"):
        call_command("add_member", owner["tenantId"], "--email", "m3@cohen.example", "--role", "member",
                     "--password", "short", stdout=io.StringIO())
    with pytest.raises(CommandError, match="password"):
        call_command("create_tenant", "Other", "--email", "o@x.example", "--password", "short", stdout=io.StringIO())


def test_navigation_shows_the_studio_the_user_sign_out_and_the_back_office_to_staff(client, owner):
    client.post("/login", {"username": "owner@cohen.example", "password": PASSWORD})
    html = client.get("/integrations").content.decode()
    assert '<span class="tenant-name">סטודיו כהן</span>' in html
    assert 'href="/integrations" aria-current="page"' in html and 'href="/webhooks"' in html
    assert "owner@cohen.example" in html and 'action="/logout"' in html
    assert 'href="/admin/"' not in html
    User.objects.filter(email="owner@cohen.example").update(is_staff=True)
    assert 'href="/admin/">ניהול המערכת' in client.get("/integrations").content.decode()


def test_signed_out_pages_have_no_studio_navigation(client):
    html = client.get("/login").content.decode()
    assert 'href="/webhooks"' not in html and 'action="/logout"' not in html
