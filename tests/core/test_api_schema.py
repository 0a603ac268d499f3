"""The OpenAPI schema says what the API does (issue 10 item 12): errors documented with
the envelope on every operation, datetimes out in RFC 3339. The full check is
tests/faults/test_api_contract.py (schemathesis); these are the fast, exact ones."""

from __future__ import annotations

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.support.factories import client_for

pytestmark = pytest.mark.django_db

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_operation_documents_the_error_envelope(schema):
    missing = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            wanted = {"400", "401", "403", "404"} | ({"413", "415"} if "requestBody" in operation else set())
            for code in sorted(wanted):
                ref = responses.get(code, {}).get("content", {}).get("application/json", {}).get("schema")
                if ref != {"$ref": "#/components/schemas/Error"}:
                    missing.append(f"{method.upper()} {path} {code}")
    assert missing == []
    error = schema["components"]["schemas"]["Error"]["properties"]["error"]
    assert error["required"] == ["code", "message"]


def test_replay_documents_409(schema):
    assert "409" in schema["paths"]["/api/webhook-logs/{logId}/replay"]["post"]["responses"]


@pytest.mark.parametrize(
    "start",
    ["1900-06-01T10:00:00+02:00", "0494-08-10T08:06:06+02:00", "1917-12-31T23:00:00Z", "2030-01-01T08:00:00Z"],
)
def test_datetimes_come_back_in_rfc3339(alice, start):
    api = client_for(alice)
    created = api.post("/api/meetings", {"title": "Old", "startTime": start, "endTime": "2031-01-01T00:00:00Z"},
                       format="json")
    assert created.status_code == 201, created.content
    for body in (created.json(), api.get(f"/api/meetings/{created.json()['id']}").json()):
        assert RFC3339.match(body["startTime"]), body["startTime"]
        assert RFC3339.match(body["createdAt"]), body["createdAt"]


def test_text_fields_refuse_numbers(alice):
    response = client_for(alice).post("/api/clients", {"name": "Acme", "address": 0}, format="json")
    assert response.status_code == 400
    assert "address" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/clients", {"name": "A", "externalIds": [1]}, "externalIds"),
        ("/api/meetings", {"title": "M", "startTime": "2030-01-01T00:00:00Z", "endTime": "2030-01-01T01:00:00Z",
                           "attendees": {"a": 1}}, "attendees"),
        ("/api/webhooks/outgoing", {"name": "W", "url": "https://example.com/h", "triggers": None}, "triggers"),
    ],
)
def test_json_fields_refuse_the_wrong_shape(alice, path, body, field):
    response = client_for(alice).post(path, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


def test_a_currency_that_grows_when_upper_cased_is_400_not_500(alice):
    # "ß".upper() is "SS": main stored 4 characters in a 3-character column (500).
    response = client_for(alice).post("/api/payments", {"amount": "10", "currency": "ßab"}, format="json")
    assert response.status_code == 400, response.content
    assert "currency" in response.json()["error"]["fields"]


def test_both_ways_to_authenticate_are_documented(schema):
    """The tenancy authenticators' OpenAPI extensions are registered at start (TenancyConfig.ready)."""
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http" and schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["cookieAuth"] == {"type": "apiKey", "in": "cookie", "name": "sessionid"}
    operation = schema["paths"]["/api/webhooks/outgoing"]["get"]
    assert {"bearerAuth": []} in operation["security"] and {"cookieAuth": []} in operation["security"]
