"""What a log list page costs the database (issue 12 item 9): few statements, whatever the rows.

At 10M rows the indexed page and its capped count take 1–3 ms; the rest of a
request was its fixed cost, much of it statements compiled and sent one by one:
the token, the user setting, the membership, the tenant setting, the whole
webhook row. Now the token is one hand-written read, the tenant is chosen in
one round trip (tenancy migration 0006), and the webhook is only checked.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.tenant_context import TENANT_SETTING, USER_SETTING, current_tenant_id, tenant_scope
from integrations.models import IntegrationLog
from tenancy.models import ApiToken, Tenant, User
from tenancy.selectors import TenantChoiceError, membership_choose
from tenancy.services import membership_add
from tests.support.factories import client_for
from tests.support.oauth import make_oauth_integration
from webhooks.models import WebhookLog

pytestmark = pytest.mark.django_db

_FRAME = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")


def _statements(api, url) -> list[str]:
    api.get(url)  # the token's first use of the test writes last_used_at (then at most every 5 minutes)
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(url)
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == 3
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(_FRAME)]


def _webhook_with_logs(persona, api, n=3) -> str:
    body = {"name": "CRM", "url": "https://hooks.example.com/in",
            "triggers": [{"entityType": "meeting", "events": ["created"]}]}
    wid = api.post("/api/webhooks/outgoing", body, format="json").json()["id"]
    with tenant_scope(persona.tenant.id):
        WebhookLog.objects.bulk_create([
            WebhookLog(tenant_id=persona.tenant.id, webhook_id=wid, webhook_type="outgoing", direction="outgoing",
                       method="POST", url="https://hooks.example.com/in", status="success",
                       event_type="meeting.created") for _ in range(n)])
    return wid


def test_a_log_list_page_is_five_statements_the_tenant_wide_one_four(alice, alice_api):
    wid = _webhook_with_logs(alice, alice_api)

    one = _statements(alice_api, f"/api/webhooks/{wid}/logs?status=success")
    every = _statements(alice_api, "/api/webhook-logs?event=meeting.created")

    # token, tenant choice (user + memberships + tenant setting), the webhook's id, capped count, page
    assert len(one) == 5, one
    assert "hub_membership_candidates" in one[1] and 'SELECT "id" FROM "outgoing_webhooks"' in one[2]
    assert len(every) == 4, every
    assert not any("set_config" in sql for sql in one + every)  # the function set both settings


def test_an_integrations_log_page_is_five_statements(alice, alice_api):
    google = make_oauth_integration(alice, "google_calendar", access="ya29.a", refresh="1//r")
    with tenant_scope(alice.tenant.id):
        for _ in range(3):
            IntegrationLog.objects.create(tenant_id=alice.tenant.id, integration=google, action="sync",
                                          direction="incoming", status="success")

    assert len(_statements(alice_api, f"/api/integrations/{google.pk}/logs")) == 5


def test_an_unknown_or_other_tenants_webhook_is_still_404(alice, alice_api, bob, bob_api):
    wid = _webhook_with_logs(alice, alice_api)
    assert bob_api.get(f"/api/webhooks/{wid}/logs").status_code == 404
    assert alice_api.get(f"/api/webhooks/{uuid.uuid4()}/logs").status_code == 404
    assert alice_api.get("/api/webhooks/not-a-uuid/logs").status_code == 404
    incoming = alice_api.post("/api/webhooks/incoming", {"name": "In", "actions": [
        {"type": "create_entity", "config": {"entityType": "client", "fieldMappings": {"name": "lead.name"}}}]},
        format="json").json()["id"]
    assert alice_api.get(f"/api/webhooks/{incoming}/logs").json()["count"] == 0
    assert bob_api.get(f"/api/webhooks/{incoming}/logs").status_code == 404


def _choose(**kwargs):
    """membership_choose in a transaction of its own; the chosen tenant and both settings as it left them."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, '', true), set_config(%s, '', true)", [TENANT_SETTING, USER_SETTING])
        try:
            membership = membership_choose(**kwargs)
        except TenantChoiceError as exc:
            cursor.execute("SELECT current_setting(%s, true)", [TENANT_SETTING])
            return exc.kind, cursor.fetchone()[0] or None
        cursor.execute("SELECT current_setting(%s, true), current_setting(%s, true)", [TENANT_SETTING, USER_SETTING])
        tenant_setting, user_setting = cursor.fetchone()
        assert user_setting == str(kwargs["user"].pk)
        assert tenant_setting == str(membership.tenant_id) == str(current_tenant_id())
        assert membership.tenant.pk == membership.tenant_id and membership.user_id == kwargs["user"].pk
        return membership.tenant_id, membership.role


def test_the_tenant_choice_rule_and_the_setting_it_leaves(alice, bob):
    carol = alice.user
    assert _choose(user=carol) == (alice.tenant.id, "owner")  # the only tenant
    membership_add(tenant_id=bob.tenant.id, user=carol, role="member")
    later = Tenant.objects.create(name="Later", slug="later")
    membership_add(tenant_id=later.id, user=carol, role="admin")

    assert _choose(user=carol) == ("ambiguous", None)
    assert _choose(user=carol, first_if_many=True) == (alice.tenant.id, "owner")  # the oldest
    assert _choose(user=carol, wanted=str(bob.tenant.id)) == (bob.tenant.id, "member")
    assert _choose(user=carol, wanted=f" {later.id} ", default_tenant_id=bob.tenant.id) == (later.id, "admin")
    assert _choose(user=carol, default_tenant_id=later.id) == (later.id, "admin")
    assert _choose(user=carol, wanted="nope") == ("invalid", None)
    stranger = Tenant.objects.create(name="Stranger", slug="stranger")
    assert _choose(user=carol, wanted=str(stranger.id)) == ("not_member", None)
    # a default tenant the user left falls back to the rule for the rest
    assert _choose(user=carol, default_tenant_id=stranger.id) == ("ambiguous", None)
    assert _choose(user=carol, default_tenant_id=stranger.id, first_if_many=True) == (alice.tenant.id, "owner")
    # an inactive tenant is no choice at all
    Tenant.objects.filter(pk=later.id).update(is_active=False)
    assert _choose(user=carol, wanted=str(later.id)) == ("not_member", None)
    assert _choose(user=bob.user, default_tenant_id=later.id) == (bob.tenant.id, "owner")
    nobody = User.objects.create(username="nobody@example.com", email="nobody@example.com")
    assert _choose(user=nobody) == ("none", None)


def test_the_token_read_keeps_revoked_expired_and_inactive_out(alice):
    api = client_for(alice)
    assert api.get("/api/webhook-logs").status_code == 200
    token = ApiToken.objects.get(user=alice.user)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(minutes=1))
    assert api.get("/api/webhook-logs").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api.get("/api/webhook-logs").status_code == 401
    ApiToken.objects.filter(pk=token.pk).update(expires_at=None, revoked_at=timezone.now())
    assert api.get("/api/webhook-logs").status_code == 401
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=None)
    User.objects.filter(pk=alice.user.pk).update(is_active=False)
    assert api.get("/api/webhook-logs").status_code == 401

