"""/metrics under a slow database: the scrape's statement timeout (METRICS_STATEMENT_TIMEOUT_MS)
ends a slow read, and the scraper gets a clear 503 (the target is down for this scrape), not a 500."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test import Client

from core import ops
from core.tenant_context import operator_alias

pytestmark = pytest.mark.django_db(transaction=True)  # the scrape reads through operator_scope, its own connection
TOKEN = "scrape-token-0123456789abcdef"


def test_a_scrape_that_hits_the_statement_timeout_is_a_503(settings, monkeypatch):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = TOKEN, []
    settings.METRICS_STATEMENT_TIMEOUT_MS = 50
    families = ops.metric_families

    def slow_database(now, window):  # a read slower than the timeout, on the scrape's own connection
        with connections[operator_alias()].cursor() as cursor:
            cursor.execute("SELECT pg_sleep(2)")
        return families(now, window)

    monkeypatch.setattr(ops, "metric_families", slow_database)
    answer = Client(raise_request_exception=False).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answer.status_code == 503, answer.status_code
    assert answer["Retry-After"]
