"""The studio pages keep the API's rules (C11, DESIGN §5): every page route is walked from the URL
conf, so a new page view is covered without being listed here.

- a member's POST to any page route is refused (403) and changes nothing, except the POSTs
  named in ``MEMBER_PAGE_POSTS`` (previews: they render, they store nothing); a visitor's POST
  is sent to sign in (or refused) and changes nothing;
- CSRF is on: an owner's POST without the token is 403 and changes nothing;
- a user of another studio addressing this studio's integration / webhook / log ids gets 404,
  on GET and POST, and changes nothing;
- no page POST answers 500, whatever the body (wrong types, huge strings, NUL bytes,
  invalid or absurdly nested JSON in the JSON fields).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from core.tenant_context import tenant_scope
from integrations.models import MessageOptOut
from integrations.pages import settings as settings_page
from tenancy.models import Membership
from tests.support.factories import Persona, persona_in
from tests.support.messaging import connect_messaging
from tests.tenancy.test_roles import Studio, provider_mock, receiver, studio  # noqa: F401 - fixtures
from tests.tenancy.test_roles import tenant_state as api_tenant_state

pytestmark = pytest.mark.django_db

PAGE_MODULES = ("integrations.pages", "webhooks.pages")
CSRF = "c" * 32  # an unmasked CSRF secret: Django accepts it as the cookie and as the header

# (route name, settings part or "") whose POST a member may make: they change nothing.
MEMBER_PAGE_POSTS = {
    ("integration-settings-part", "preview"),
    ("outgoing-webhook-preview", ""),
    ("outgoing-webhook-placeholders", ""),
}


#: The messaging page's routes are walked with the studio's Twilio integration too (its rules,
#: one opt-out), so they are refused for what they are, not only as "not a messaging integration".
MESSAGING_RULE = {"id": "meeting-reminder", "entityType": "meeting", "minutesBefore": 60, "recipients": "client",
                  "body": "x"}


@pytest.fixture(autouse=True)
def _messaging(request):
    if "studio" not in request.fixturenames:
        return
    studio = request.getfixturevalue("studio")  # noqa: F811 - the fixture's value
    studio.messaging = connect_messaging(studio.owner, "twilio", rules=[MESSAGING_RULE])
    with tenant_scope(studio.owner.tenant.id):
        studio.opt_out = MessageOptOut.objects.create(tenant=studio.owner.tenant, channel="sms",
                                                      address="+972501234567", reason="manual")


def tenant_state(persona: Persona) -> dict:
    """The API walker's rows, and the opt-outs the messaging page writes."""
    state = api_tenant_state(persona)
    with tenant_scope(persona.tenant.id):
        state["MessageOptOut"] = sorted(str(row) for row in MessageOptOut.objects.values_list("channel", "address"))
    return state


def _our_ids(studio: Studio) -> set[str]:  # noqa: F811
    return {*studio.ids().values(), str(studio.messaging.pk)}


def _walk(patterns) -> Iterator[URLPattern]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            yield pattern


def page_routes() -> list[tuple[str, URLPattern]]:
    """Every named route whose view lives in a pages package (function or class view)."""
    routes = []
    for pattern in _walk(get_resolver().url_patterns):
        callback = pattern.callback
        module = getattr(getattr(callback, "view_class", callback), "__module__", "")
        if module.startswith(PAGE_MODULES):
            assert pattern.name, f"page route {pattern.pattern} has no name"
            routes.append((pattern.name, pattern))
    return routes


def _params(pattern: URLPattern) -> set[str]:
    return set(re.findall(r"\(\?P<(\w+)>", str(pattern.pattern.regex.pattern)))


def page_paths(studio: Studio) -> list[tuple[str, str, str]]:  # noqa: F811
    """(route name, part, path) for every page route, its ids the studio's."""
    ids = studio.ids()
    out = []
    for name, pattern in page_routes():
        params = _params(pattern)
        kwargs: dict[str, str] = {}
        if "integration_id" in params:
            kwargs["integration_id"] = ids["integration"]
        if "webhook_id" in params:
            kwargs["webhook_id"] = ids["outgoing"] if "outgoing" in name else ids["incoming"]
        if "log_id" in params:
            kwargs["log_id"] = ids["outgoing_log"]
        if "provider_id" in params:
            kwargs["provider_id"] = "google_calendar"
        unknown = params - set(kwargs) - {"part"}
        assert not unknown, f"{name}: teach page_paths the parameter(s) {unknown}"
        if "part" in params:
            for part in sorted(set(settings_page.READS) | set(settings_page.WRITES)):
                out.append((name, part, reverse(name, kwargs={**kwargs, "part": part})))
        else:
            out.append((name, "", reverse(name, kwargs=kwargs)))
        if name.startswith("integration-messaging"):
            out.append((name, "twilio", reverse(name, kwargs={**kwargs, "integration_id": str(studio.messaging.pk)})))
    assert len(out) > 20  # the walk found the pages
    return out


def browser(persona: Persona | None) -> Client:
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    if persona is not None:
        client.force_login(persona.user)
    client.cookies["csrftoken"] = CSRF
    return client


def post(client: Client, path: str, data=None, *, csrf: bool = True, **extra):
    headers = {"HTTP_X_CSRFTOKEN": CSRF} if csrf else {}
    return client.post(path, data or {}, **headers, **extra)


def test_a_member_is_refused_every_page_post_and_a_visitor_too_and_nothing_changes(studio):  # noqa: F811
    member = browser(persona_in(studio.owner, "mia@example.com", Membership.Role.MEMBER))
    visitor = browser(None)
    before = tenant_state(studio.owner)
    wrong = []
    with provider_mock() as mock:
        for name, part, path in page_paths(studio):
            as_member = post(member, path, {"name": "Renamed", "payload": "{}", **messaging_body(studio)})
            as_visitor = post(visitor, path, {"name": "Renamed", **messaging_body(studio)})
            if (name, part) not in MEMBER_PAGE_POSTS and as_member.status_code not in (403, 405):
                wrong.append((name, part, "member", as_member.status_code))
            if as_visitor.status_code not in (302, 401, 403, 405) or (
                    as_visitor.status_code == 302 and not as_visitor["Location"].startswith("/login")):
                wrong.append((name, part, "visitor", as_visitor.status_code))
    assert wrong == [], wrong
    assert tenant_state(studio.owner) == before
    assert len(mock.calls) == 0


def test_csrf_is_on_for_every_page_post(studio):  # noqa: F811
    owner = browser(studio.owner)
    before = tenant_state(studio.owner)
    wrong = [(name, part, r.status_code) for name, part, path in page_paths(studio)
             if (r := post(owner, path, {"name": "Renamed", **messaging_body(studio)}, csrf=False)).status_code not in (403, 405)]
    assert wrong == [], wrong
    assert tenant_state(studio.owner) == before


def test_another_studios_owner_gets_404_on_every_page_route_with_our_ids_and_changes_nothing(studio, bob):  # noqa: F811
    stranger = browser(bob)
    before = tenant_state(studio.owner)
    wrong = []
    with provider_mock() as mock:
        for name, part, path in page_paths(studio):
            if not _our_ids(studio) & set(path.split("/")):
                continue  # a route that names no id of the studio (a list, a new-form, a provider)
            got = stranger.get(path).status_code
            posted = post(stranger, path, {"name": "Renamed", "payload": "{}", **messaging_body(studio)}).status_code
            if got not in (404, 405) or posted not in (404, 405):
                wrong.append((name, part, got, posted))
    assert wrong == [], wrong
    assert tenant_state(studio.owner) == before
    assert len(mock.calls) == 0


FIELDS = ("name", "description", "url", "method", "payload", "payload_template", "headers", "triggers",
          "timeout_seconds", "retry_attempts", "retry_delay_seconds", "retry_strategy", "sign_requests",
          "signature_header", "signature_scheme", "signature_secret", "verification_scheme",
          "preview_entity_type", "preview_event", "test_entity_type", "test_event", "entity_type", "event",
          "enabled", "direction", "frequency", "full", "pair", "sample-local", "sample-remote",
          "filter-body-path", "filter-body-value", "filter-header-name", "filter-header-value",
          "vc-toleranceSeconds", "vc-header", "action-index", "a0-type", "a0-entityType", "a0-map-local",
          "a0-map-path", "a0-forwardUrl", "a0-retryAttempts", "a0-fh-name", "a0-fh-value",
          "m-localEntity", "m-localField", "m-remoteField", "m-transform", "m-transformConfig",
          "m-defaultValue", "setting-flags", "is_enabled", "conflict_policy",
          # the messaging page's forms
          "rule_id", "entity_type", "kind", "minutes_before", "status", "recipients", "template", "language",
          "parameters", "subject", "body", "dynamic_data", "quiet_enabled", "quiet_start", "quiet_end",
          "quiet_timezone", "address", "opt_out_id")
def messaging_body(studio: Studio) -> dict[str, str]:  # noqa: F811
    """A body each messaging POST would act on, were it allowed: an opt-out to add, the
    studio's rule and opt-out to remove, quiet hours to set."""
    return {**MESSAGING_BODY, "opt_out_id": str(studio.opt_out.pk)}


MESSAGING_BODY = {"address": "050-7654321", "rule_id": "meeting-reminder", "quiet_enabled": "on",
                  "quiet_start": "21:00", "quiet_end": "08:00", "entity_type": "meeting", "kind": "event",
                  "event": "created", "recipients": "client"}
NESTED = "[" * 20_000 + "]" * 20_000


def _bodies() -> dict[str, dict]:
    return {
        "nul": {f: "a\x00b" for f in FIELDS},
        "huge": {f: "ש" * 20_000 for f in FIELDS},
        "wrong types": {**{f: "not-a-number" for f in FIELDS}, "action-index": "0", "a0-type": "forward",
                        "pair": "meeting:event", "filter-body-path": "x"},
        "bad json": {f: "{not json" for f in FIELDS} | {"action-index": "0", "a0-type": "create_entity"},
        "json of other shapes": {f: v for f, v in zip(FIELDS, ["[1]", "null", '"s"', "1e999", "{}", "[]"] * 20,
                                                      strict=False)},
        "nested json": {f: NESTED for f in FIELDS} | {"action-index": "0", "a0-type": "forward",
                                                      "pair": "meeting:event"},
    }


@pytest.mark.parametrize("body", list(_bodies()), ids=list(_bodies()))
def test_no_page_post_answers_500_whatever_the_body(studio, body):  # noqa: F811
    owner = browser(studio.owner)
    data = _bodies()[body]
    wrong = []
    with provider_mock():
        for name, part, path in page_paths(studio):
            if part in ("disconnect",) or name.endswith("-delete") or name == "integrations-provider-disconnect":
                continue  # they take no body; they would only remove what the next routes need
            for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
                response = post(owner, path, data, **extra)
                if response.status_code >= 500:
                    wrong.append((name, part, bool(extra), response.status_code))
    assert wrong == [], wrong


def test_a_log_whose_stored_answer_is_absurdly_nested_json_still_renders(studio):  # noqa: F811
    # a receiver may answer anything; its (truncated) answer is stored as text and shown on the log page
    from core.tenant_context import tenant_scope
    from webhooks.models import WebhookLog

    with tenant_scope(studio.owner.tenant.id):
        WebhookLog.objects.filter(pk=studio.outgoing_log).update(response_body=NESTED[:60_000])
    page = browser(studio.owner).get(reverse("webhook-log-page", kwargs={"log_id": studio.outgoing_log}))
    assert page.status_code == 200


def test_no_page_renders_a_secret(studio):  # noqa: F811
    # given every kind of secret the studio holds: OAuth tokens, an API key integration's token,
    # an incoming webhook's secret and an outgoing webhook's signing secret
    from core.tenant_context import tenant_scope
    from tests.support.payments import connect_payments
    from tests.support.webhooks import create_outgoing_webhook

    connect_payments(studio.owner, "cardcom", {"terminalNumber": "1000", "apiName": "api-name-visible",
                                               "apiPassword": "cardcom-password-xyz"},
                     entities=[("payment", "LowProfile", "export")])
    signed = create_outgoing_webhook(studio.owner, "https://hooks.example.com/in", name="Signed",
                                     sign_requests=True, signature_secret="whsec-outgoing-signing-secret-42")
    with tenant_scope(studio.owner.tenant.id):
        incoming_secret = studio.incoming.get_secret("secret")
    secrets = [b"ya29.secret-access", b"1//refresh", b"cardcom-password-xyz",
               b"whsec-outgoing-signing-secret-42", incoming_secret.encode()]
    paths = [p for _n, _part, p in page_paths(studio)] + [f"/webhooks/outgoing/{signed.pk}", "/integrations"]
    # when the owner and a member open every page (GET)
    for persona in (studio.owner, persona_in(studio.owner, "mia@example.com", Membership.Role.MEMBER)):
        client = browser(persona)
        for path in paths:
            for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
                page = client.get(path, **extra)
                assert page.status_code < 500, (path, page.status_code)
                # then none of the secrets is in it
                leaked = [s for s in secrets if s in page.content]
                assert leaked == [], (path, leaked)


@pytest.mark.parametrize("path", ["/login", "/logout", "/password-reset/"])
def test_sign_in_pages_need_the_csrf_token_and_take_any_body_without_a_500(alice, path):
    visitor = browser(None)
    assert post(visitor, path, {"username": alice.user.email, "password": "x"}, csrf=False).status_code == 403
    for data in ({"username": "a\x00b@example.com", "password": "p\x00w", "email": "a\x00@example.com"},
                 {"username": "ש" * 100_000, "password": "x" * 100_000, "email": "x" * 100_000},
                 {"username": ["a", "b"], "password": "", "email": ""},
                 {"next": "https://evil.example.com/", "username": "", "password": ""}):
        answer = post(visitor, path, data)
        assert answer.status_code < 500, (path, answer.status_code)
        assert "evil.example.com" not in answer.get("Location", "")
