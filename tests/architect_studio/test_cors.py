"""CORS for the SPA on its own origin (issue 10 item 10): only CORS_ALLOWED_ORIGINS,
credentials only for those."""

from __future__ import annotations

import pytest

SPA = "https://app.example.com"


@pytest.fixture(autouse=True)
def _spa_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = [SPA]


def _preflight(api, origin: str):
    return api.options(
        "/api/meetings", HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, x-tenant-id",
    )


def test_preflight_from_an_allowed_origin_allows_it_with_credentials(api, db):
    response = _preflight(api, SPA)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SPA
    assert response["Access-Control-Allow-Credentials"] == "true"
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "x-tenant-id"} <= allowed
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_preflight_from_another_origin_gets_no_cors_headers(api, db):
    response = _preflight(api, "https://evil.example.com")
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Credentials" not in response


def test_actual_requests_carry_cors_headers_only_for_allowed_origins(alice_api):
    allowed = alice_api.get("/api/meetings", HTTP_ORIGIN=SPA)
    other = alice_api.get("/api/meetings", HTTP_ORIGIN="https://evil.example.com")
    assert allowed.status_code == other.status_code == 200
    assert (allowed["Access-Control-Allow-Origin"], allowed["Access-Control-Allow-Credentials"]) == (SPA, "true")
    assert "Access-Control-Allow-Origin" not in other and "Access-Control-Allow-Credentials" not in other


def test_no_origin_is_allowed_by_default(settings, api, db):
    settings.CORS_ALLOWED_ORIGINS = []
    assert "Access-Control-Allow-Origin" not in _preflight(api, SPA)
