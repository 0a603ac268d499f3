"""The hardened client's refusals and failures (core.outbound) in the reader's language (issue
14 item 6): a refused address is kept as words beside the English text (``refused: private
address 10.0.0.1``, what logs and machines read), and every place a studio reads it -- the
webhook forms, a test send (page and API), the delivery log (detail page and API) -- says it
in Hebrew under Hebrew, in English under English."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from core import outbound
from core.tenant_context import tenant_scope
from core.words import say
from tests.support.internal_dns import INTERNAL_HOST
from webhooks.models import OutgoingWebhook, WebhookLog

pytestmark = pytest.mark.django_db

LOOPBACK_HE = "כתובת המחשב המקומי 127.0.0.1"


def said(code: str, fn):
    with translation.override(code):
        return fn()


@pytest.mark.parametrize(("url", "english", "hebrew"), [
    ("http://10.0.0.1/", "private address 10.0.0.1", "כתובת פרטית 10.0.0.1"),
    ("http://127.0.0.1/", "loopback address 127.0.0.1", LOOPBACK_HE),
    ("http://169.254.169.254/", "cloud metadata address 169.254.169.254", "כתובת שרת נתוני הענן 169.254.169.254"),
    ("http://localhost/", "loopback host localhost", "שם המחשב המקומי localhost"),
    ("ftp://example.com/", "URL scheme must be http or https", "הכתובת חייבת להתחיל ב-http או ב-https"),
    ("http://u:p@example.com/", "URL must not contain credentials (user:password@)",
     "הכתובת לא יכולה לכלול פרטי התחברות (user:password@)"),
    ("http://[::ffff:10.0.0.1]/", "private address 10.0.0.1 (IPv4-mapped ::ffff:a00:1)",
     "כתובת פרטית 10.0.0.1 (בתוך כתובת IPv6 ממופה ::ffff:a00:1)"),
])
def test_a_refusal_is_english_as_text_and_says_itself_in_hebrew(url, english, hebrew):
    with pytest.raises(outbound.OutboundRefused) as caught:
        said("he", lambda: outbound.check_url(url, allow_private=False))
    refused = caught.value
    assert refused.reason == str(refused) == english  # the logged, technical form stays
    assert said("he", refused.in_words) == hebrew
    assert said("en", refused.in_words) == english
    result = said("he", lambda: outbound.send(method="POST", url=url, headers={}, body=b"{}", timeout=2,
                                              allow_private=False))
    assert (result.error_kind, result.error) == ("refused", f"refused: {english}")
    assert said("he", lambda: say(result.error_words)) == f"נדחה: {hebrew}"


def test_the_clients_other_failures_say_themselves_in_hebrew():
    closed = said("he", lambda: outbound.send(method="POST", url="http://127.0.0.1:9/", headers={}, body=b"",
                                              timeout=2, allow_private=True))
    assert (closed.error_kind, closed.error) == ("connection", "connection refused")
    assert said("he", lambda: say(closed.error_words)) == "החיבור נדחה"
    with pytest.raises(outbound.DownloadFailed) as caught:
        with outbound.stream_get("http://10.0.0.1/f.pdf", timeout=2, allow_private=False, max_bytes=10):
            pass
    assert str(caught.value) == "refused: private address 10.0.0.1"
    assert said("he", caught.value.in_words) == "נדחה: כתובת פרטית 10.0.0.1"


# --------------------------------------------------------------------------- the webhook forms
def test_a_refused_webhook_url_is_said_in_the_forms_language(alice, alice_api, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    body = {"name": "x", "url": "http://10.0.0.1/hook", "triggers": [{"entityType": "meeting", "events": ["created"]}]}
    hebrew = alice_api.post("/api/webhooks/outgoing", body, format="json", HTTP_ACCEPT_LANGUAGE="he").json()
    english = alice_api.post("/api/webhooks/outgoing", body, format="json", HTTP_ACCEPT_LANGUAGE="en").json()
    assert hebrew["error"]["fields"]["url"] == ["הכתובת נדחתה: כתובת פרטית 10.0.0.1"]
    assert english["error"]["fields"]["url"] == ["URL refused: private address 10.0.0.1"]


# --------------------------------------------------------------------------- a test send, its log
@pytest.fixture
def internal_webhook(alice, alice_api, settings, internal_dns):
    """A webhook whose public-looking name resolves to loopback when the hub sends."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    created = alice_api.post("/api/webhooks/outgoing", {
        "name": "internal", "url": f"http://{INTERNAL_HOST}:9/in",
        "triggers": [{"entityType": "meeting", "events": ["created"]}],
    }, format="json")
    assert created.status_code == 201, created.content
    with tenant_scope(alice.tenant.id):
        return OutgoingWebhook.objects.get(pk=created.json()["id"])


def test_a_refused_test_send_is_said_in_the_readers_language(alice, alice_api, internal_webhook):
    path = f"/api/webhooks/{internal_webhook.pk}/test"
    hebrew = alice_api.post(path, {}, format="json", HTTP_ACCEPT_LANGUAGE="he").json()
    english = alice_api.post(path, {}, format="json", HTTP_ACCEPT_LANGUAGE="en").json()
    assert hebrew["error"] == english["error"] == "refused: loopback address 127.0.0.1"  # as logged
    assert hebrew["errorText"] == f"נדחה: {LOOPBACK_HE}"
    assert english["errorText"] == "refused: loopback address 127.0.0.1"

    # the delivery log: the API's errorText, the detail page
    logs = alice_api.get(f"/api/webhooks/{internal_webhook.pk}/logs", HTTP_ACCEPT_LANGUAGE="he").json()
    row = logs["results"][0]
    assert row["errorMessage"] == "refused: loopback address 127.0.0.1"
    assert row["errorText"] == f"נדחה: {LOOPBACK_HE}"
    en_row = alice_api.get(f"/api/webhooks/{internal_webhook.pk}/logs", HTTP_ACCEPT_LANGUAGE="en").json()
    assert en_row["results"][0]["errorText"] == "refused: loopback address 127.0.0.1"

    web = Client()
    web.force_login(alice.user)
    he_detail = web.get(f"/webhooks/logs/{row['id']}", HTTP_ACCEPT_LANGUAGE="he").content.decode()
    en_detail = web.get(f"/webhooks/logs/{row['id']}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert LOOPBACK_HE in he_detail and "loopback" not in he_detail and "refused" not in he_detail
    assert "refused: loopback address 127.0.0.1" in en_detail


def test_a_refused_test_send_on_the_page_is_said_in_hebrew(alice, internal_webhook):
    web = Client()
    web.force_login(alice.user)
    path = f"/webhooks/outgoing/{internal_webhook.pk}/test"
    form = {"test_entity_type": "meeting", "test_event": "created"}
    hebrew = web.post(path, form, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="he").content.decode()
    english = web.post(path, form, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"נדחה: {LOOPBACK_HE}" in hebrew and "loopback" not in hebrew and "refused" not in hebrew
    assert "refused: loopback address 127.0.0.1" in english
    with tenant_scope(alice.tenant.id):
        assert WebhookLog.objects.filter(status="failed").count() == 2
