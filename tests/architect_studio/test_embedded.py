"""The embedded default: with no Postgres/Redis, SQLite + eager tasks, announced in the log."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.support.paths import ROOT

SCRIPT = r"""
import json, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "architect_studio.settings.dev"
django.setup()
from django.test import Client
token = os.environ["TOKEN"]
c = Client(HTTP_AUTHORIZATION="Bearer " + token)

# A receiver that fails the first delivery: the retry goes through the dispatcher's claim.
from tests.support.receiver import Plan, Receiver
rx = Receiver(plans=[Plan(500, body=b"")], default=Plan(200, body=b"")).__enter__()
w = c.post("/api/webhooks/outgoing", data=json.dumps({"name": "CRM", "url": rx.url,
           "triggers": [{"entityType": "meeting", "events": ["created"]}], "retryAttempts": 2, "retryDelaySeconds": 0}),
           content_type="application/json")
assert w.status_code == 201, w.content
r = c.post("/api/meetings", data=json.dumps({"title": "Embedded", "startTime": "2026-12-01T10:00:00Z",
           "endTime": "2026-12-01T11:00:00Z"}), content_type="application/json")
from entities.models import EntityEvent
ev = EntityEvent.objects.get()
from webhooks.models import WebhookLog
attempts = [(x.attempt, x.status) for x in WebhookLog.objects.filter(direction="outgoing").order_by("attempt")]
print(json.dumps({"status": r.status_code, "event": ev.event, "processed": ev.processed_at is not None,
                  "attempts": attempts, "same_delivery": len(rx.requests) == 2
                  and rx.requests[0].headers["X-Webhook-Delivery"] == rx.requests[1].headers["X-Webhook-Delivery"],
                  "health": Client().get("/healthz").json()}))
"""


def embedded_env(db_path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")},
        "ARCHITECT_EMBEDDED": "1",
        "EMBEDDED_DB_PATH": str(db_path),
        "INTEGRATION_ENCRYPTION_KEY": "k1:" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    }


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory):
    """One SQLite database migrated by `manage.py migrate` in embedded mode (the announcement
    checked); each test works on its own copy of it."""
    path = tmp_path_factory.mktemp("embedded") / "migrated.sqlite3"
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT,
                             env=embedded_env(path), capture_output=True, text=True, timeout=240)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    assert "EMBEDDED MODE" in migrate.stderr
    return path


@pytest.fixture
def embedded_db(migrated_sqlite, tmp_path):
    copy = tmp_path / "embedded.sqlite3"
    shutil.copyfile(migrated_sqlite, copy)
    return copy


@pytest.mark.embedded
def test_embedded_mode_smoke(embedded_db):
    env = {**embedded_env(embedded_db), "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "1"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    created = run("manage.py", "create_tenant", "Embedded Studio", "--email", "e@example.com")
    assert created.returncode == 0, created.stderr[-2000:]
    token = json.loads(created.stdout.strip().splitlines()[-1])["token"]
    env["TOKEN"] = token
    result = run("-c", SCRIPT)
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["status"] == 201
    assert (data["event"], data["processed"]) == ("created", True)  # eager task ran on commit
    # Delivered through the SQLite paths of the engine: first attempt failed, the retry succeeded.
    assert data["attempts"] == [[1, "failed"], [2, "success"]] and data["same_delivery"]
    assert data["health"]["status"] == "ok" and "SQLite" in data["health"]["mode"]


BEAT_SCRIPT = r"""
import json, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "architect_studio.settings.dev"
django.setup()
from django.conf import settings
from core import scheduler
results = {name: scheduler.run_entry(name) for name in settings.CELERY_BEAT_SCHEDULE}
print(json.dumps(results))
"""


@pytest.mark.embedded
def test_embedded_scheduler_runs_every_beat_entry(embedded_db):
    """The in-process scheduler of the embedded mode runs each beat entry's task in
    the web process: every entry's task is registered there and succeeds once."""
    env = embedded_env(embedded_db)
    result = subprocess.run([sys.executable, "-c", BEAT_SCRIPT], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    outcomes = json.loads(result.stdout.strip().splitlines()[-1])
    from django.conf import settings

    assert set(outcomes) == set(settings.CELERY_BEAT_SCHEDULE)
    assert outcomes == {name: "SUCCESS" for name in settings.CELERY_BEAT_SCHEDULE}, outcomes
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
