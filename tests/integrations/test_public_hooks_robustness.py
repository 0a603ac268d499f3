"""The public provider endpoints never answer 500, whatever arrives (DESIGN §4 C5, §5 "bad input
gets a clear 4xx and changes nothing"): ``POST /api/integrations/hooks/<id>`` (provider webhooks
to an integration), ``/api/integrations/push/graph/<id>`` and ``/api/integrations/push/app/dropbox``.

Cardcom's re-query is answered with Cardcom v11's documented ``LowProfile/GetLpResult`` shape
(https://secure.cardcom.solutions/api/v11/Docs) -- here its failure: a 5xx or no answer at all.
"""

from __future__ import annotations

import uuid

import pytest
from django.test import Client as DjangoClient

CARDCOM = "https://secure.cardcom.solutions/api/v11"
NESTED = b"[" * 50_000 + b"]" * 50_000  # 100 KB, under every size cap, deeper than Python's recursion limit


@pytest.fixture
def anon() -> DjangoClient:
    return DjangoClient(enforce_csrf_checks=True)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", [
    "/api/integrations/hooks/{id}",
    "/api/integrations/push/graph/{id}",
    "/api/integrations/push/app/dropbox",
])
def test_deeply_nested_json_is_a_400_not_a_500(anon, path):
    response = anon.post(path.format(id=uuid.uuid4()), data=NESTED, content_type="application/json")
    assert 400 <= response.status_code < 500, response.status_code
