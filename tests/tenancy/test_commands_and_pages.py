"""Provisioning (C2), health (C1), admin in Hebrew RTL, OpenAPI docs."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from core.tenant_context import operator_scope
from tenancy.models import ApiToken, Membership, Tenant

pytestmark = pytest.mark.django_db


def _create_tenant(*args) -> tuple[str, dict]:
    out = io.StringIO()
    call_command("create_tenant", *args, stdout=out)
    text = out.getvalue()
    return text, json.loads(text)


@pytest.mark.django_db(transaction=True)  # operator_scope reads on its own connection
def test_create_tenant_prints_one_json_line_and_the_token_works(api):
    text, data = _create_tenant("סטודיו לדוגמה", "--email", "Owner@Example.com")
    assert text.count("\n") == 1 and text.endswith("\n")
    assert set(data) == {"tenantId", "userId", "email", "token"}
    assert data["email"] == "owner@example.com"
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {data['token']}")
    response = api.get("/api/meetings")
    assert response.status_code == 200
    with operator_scope("test"):
        membership = Membership.objects.get(user_id=data["userId"])
    assert (str(membership.tenant_id), membership.role) == (data["tenantId"], "owner")


def test_create_tenant_is_idempotent_and_always_issues_a_fresh_token():
    _, first = _create_tenant("Studio", "--email", "o@example.com")
    _, second = _create_tenant("Studio", "--email", "o@example.com")
    assert (first["tenantId"], first["userId"]) == (second["tenantId"], second["userId"])
    assert first["token"] != second["token"]
    assert Tenant.objects.filter(name="Studio").count() == 1
    assert ApiToken.objects.filter(user_id=first["userId"]).count() == 2


def test_create_tenant_rejects_bad_email():
    with pytest.raises(CommandError, match="invalid email"):
        _create_tenant("Studio", "--email", "not-an-email")


def test_healthz_reports_database_and_broker():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok" and response.json()["broker"] == "ok"
    assert Client().head("/healthz").status_code == 200  # load balancers probe with HEAD too
    assert Client().post("/healthz").status_code == 405


def test_healthz_reports_an_unreachable_broker_without_failing(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = Client().get("/healthz")
    assert response.status_code == 200  # liveness is the database's (issue 10 item 9)
    assert response.json()["status"] == "ok" and response.json()["broker"] == "ConnectionError"


def test_admin_login_is_hebrew_and_rtl():
    response = Client().get("/admin/login/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'lang="he"' in html and 'dir="rtl"' in html
    assert "שם משתמש" in html  # "username" in Hebrew


def test_admin_switches_to_english_with_accept_language():
    html = Client(HTTP_ACCEPT_LANGUAGE="en").get("/admin/login/").content.decode()
    assert 'lang="en"' in html and 'dir="ltr"' in html


@pytest.mark.django_db(transaction=True)  # operator_scope reads on its own connection
def test_admin_shows_all_tenants_to_staff_via_operator_scope(alice, bob):
    from django.contrib.auth import get_user_model

    from tests.support.factories import make_meeting

    make_meeting(alice.tenant, "Alice M")
    make_meeting(bob.tenant, "Bob M")
    staff = get_user_model().objects.create_superuser("op", "op@example.com", "pw-123456789")
    client = Client()
    client.force_login(staff)
    html = client.get("/admin/entities/meeting/").content.decode()
    assert "Alice M" in html and "Bob M" in html


def test_openapi_schema_and_swagger_ui():
    client = Client()
    schema = client.get("/api/schema", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/meetings" in schema.json()["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_unknown_api_path_is_json_404():
    response = Client().get("/api/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_admin_model_names_are_translated_to_hebrew():
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create_superuser("op2", "op2@example.com", "pw-123456789")
    client = Client()
    client.force_login(staff)
    html = client.get("/admin/").content.decode()
    assert "פגישות" in html and "סטודיואים" in html  # meetings, tenants
