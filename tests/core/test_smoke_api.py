import pytest

pytestmark = pytest.mark.django_db


def test_unauthenticated_request_is_401_with_error_envelope(api):
    response = api.get("/api/meetings")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_token_lists_meetings_paginated(alice, alice_api):
    response = alice_api.get("/api/meetings")
    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}
