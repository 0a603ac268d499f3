"""Request bodies on the API (issue 10 item 10): over DATA_UPLOAD_MAX_MEMORY_SIZE is 413
whatever DRF does; NUL and lone surrogates in any JSON string are 400; both with the
error envelope and nothing stored."""

from __future__ import annotations

import json

import pytest

from entities.models import Client
from tests.support.factories import client_for

pytestmark = pytest.mark.django_db


def post_raw(api, path: str, body: bytes, content_type: str = "application/json"):
    return api.generic("POST", path, body, content_type=content_type)


def test_body_over_the_limit_is_413_with_the_envelope(alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"name": "Big", "notes": "x" * 20_000}).encode()
    response = post_raw(client_for(alice), "/api/clients", body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert not Client.objects.filter(tenant=alice.tenant).exists()


def test_body_under_the_limit_is_parsed(alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = post_raw(client_for(alice), "/api/clients", json.dumps({"name": "Small"}).encode())
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "a\\u0000b"}',
        b'{"name": "ok", "externalIds": {"crm": "x\\u0000"}}',
        b'{"name": "ok", "externalIds": {"k\\u0000": "v"}}',
        b'{"name": "\\ud800"}',
        b'{"name": "ok", "externalIds": {"crm": "\\udfff tail"}}',
    ],
    ids=["nul", "nested-nul", "nul-in-key", "lone-high-surrogate", "nested-lone-low-surrogate"],
)
def test_nul_and_lone_surrogates_are_400_with_the_envelope(alice, body):
    response = post_raw(client_for(alice), "/api/clients", body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert "NUL" in error["message"] or "surrogate" in error["message"]
    assert not Client.objects.filter(tenant=alice.tenant).exists()


def test_a_surrogate_pair_is_an_ordinary_character(alice):
    response = post_raw(client_for(alice), "/api/clients", b'{"name": "\\ud83d\\ude00 studio"}')
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "\U0001f600 studio"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"name": NaN}', "application/json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b'{"name": "x"}', "application/json; charset=bz2_codec"),
    ],
    ids=["nan", "deep-nesting", "bytes-codec"],
)
def test_malformed_json_is_400_never_500(alice, body, content_type):
    response = post_raw(client_for(alice), "/api/clients", body, content_type)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "parse_error"


def test_form_bodies_are_415(alice):
    response = post_raw(client_for(alice), "/api/clients", b"name=Form", "application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
