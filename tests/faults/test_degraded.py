"""Item 9 of issue 10: what the hub does while Redis is gone, in-process and fast.

The real-process outages (a broker killed under load, a hung broker, database
backends terminated, processes killed) are in the other modules here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
from django.conf import settings
from django.test import Client

from integrations import ratelimit
from tests.support.paths import ROOT
from tests.support.ports import free_port
from tests.support.waiting import wait_until
from webhooks.incoming import limits

pytestmark = [pytest.mark.faults]


def closed_redis_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: every call fails at once


@pytest.mark.django_db
def test_healthz_is_live_on_the_database_alone_and_names_no_host(settings):
    settings.REDIS_URL = closed_redis_url()
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["broker"] not in ("ok", "embedded")  # the broker's state is reported, not enforced
    text = response.content.decode()
    assert "127.0.0.1" not in text and "://" not in text and "localhost" not in text


class BrokenRedis:
    """A port that accepts connections and closes them at once (a Redis that is there
    but broken), counting how often the hub tries it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self.sock.getsockname()[1]}/0"
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


def test_the_incoming_rate_limit_falls_back_to_a_local_limit_when_redis_fails(settings, monkeypatch):
    from core import redis_client

    broken = BrokenRedis()
    settings.REDIS_URL = broken.url
    monkeypatch.setattr(limits, "_leases", {})
    monkeypatch.setattr(redis_client, "DOWN_SECONDS", 120.0)  # the outage window outlasts this test on any machine
    webhook = str(uuid.uuid4())
    start = time.time()
    verdicts = [limits.rate_limited(webhook, 5) for _ in range(12)]
    if int(time.time()) != int(start):  # crossed a second boundary: the window restarted; ask again
        verdicts = [limits.rate_limited(str(uuid.uuid4()), 5) for _ in range(12)]
    assert verdicts.count(False) <= 10 and verdicts.count(True) >= 2  # limited, not failing open
    assert verdicts[:5] == [False] * 5
    tried = broken.accepted
    assert tried >= 1  # the hub did try this Redis before falling back
    for _ in range(50):
        limits.rate_limited(str(uuid.uuid4()), 5)
    broken.close()
    assert broken.accepted == tried  # a broken Redis is not asked again on every request


def test_the_provider_rate_limiter_falls_back_to_local_buckets_when_redis_fails():
    limiter = ratelimit.RateLimiter(url=closed_redis_url())
    bucket = ratelimit.Bucket(f"test:{uuid.uuid4()}", 3, 60.0)
    taken = [limiter.try_take(bucket, ratelimit.HIGH)[0] for _ in range(5)]
    assert taken == [True, True, True, False, False]
    limiter.block(bucket, 30)  # a 429 from the provider is still honoured
    allowed, wait = limiter.try_take(bucket, ratelimit.HIGH)
    assert not allowed and wait > 20


def test_beat_entries_expire_in_django_celery_beat(transactional_db):
    """django-celery-beat keeps ``expire_seconds`` and drops ``expires``: each entry must carry the former."""
    from django_celery_beat.models import PeriodicTask

    from architect_studio.celery import app
    from core.beat_scheduler import DatabaseScheduler  # what the Procfile's beat runs

    scheduler = DatabaseScheduler(app=app, lazy=True)
    scheduler.update_from_dict(settings.CELERY_BEAT_SCHEDULE)
    stored = dict(PeriodicTask.objects.filter(name__in=list(settings.CELERY_BEAT_SCHEDULE))
                  .values_list("name", "expire_seconds"))
    assert set(stored) == set(settings.CELERY_BEAT_SCHEDULE)
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert stored[name] is not None, name
        assert 0 < stored[name] <= float(entry["schedule"]) * 2, name


def test_pooled_database_connections_are_checked_before_use():
    """The production settings (the test settings drop the pool): each connection is checked as it leaves it."""
    if settings.MODE.embedded_db:
        pytest.skip("SQLite has no pool")
    code = ("import django; django.setup(); from django.db import connection; "
            "print(connection.pool._check.__qualname__)")  # the pool is made closed: no connection needed
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "architect_studio.settings.dev"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ConnectionPool.check_connection", out.stderr[-2000:]


def test_make_run_restarts_a_process_that_exits_and_keeps_the_others(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        "flaky: sh -c 'echo flaky-up; sleep 0.3; exit 3'\n"
        "steady: sh -c 'echo steady-up $$; sleep 60'\n"
    )
    env = {**os.environ, "PROCFILE": str(procfile), "PYTHONUNBUFFERED": "1"}
    out = tmp_path / "out.log"
    with open(out, "wb") as sink:
        proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "run.py")], cwd=ROOT, env=env,
                                stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(lambda: out.read_text().count("flaky-up") >= 3, 15, 0.1, "three starts of the flaky process")
            assert proc.poll() is None, out.read_text()
            assert out.read_text().count("steady-up") == 1  # the others were left alone
        finally:
            proc.terminate()
            proc.wait(15)
    assert "exited with code 3" in out.read_text()


def test_docker_compose_restarts_every_service():
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "sync", "beat"}
    for name in ("postgres", "redis", "web", "worker", "sync", "beat"):
        assert services[name].get("restart") == "unless-stopped", name
    # the one-shot migration is re-run only when it failed, never in a loop after success
    assert services["migrate"].get("restart") == "on-failure"
    for name in ("web", "worker", "sync", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_the_procfile_worker_does_not_use_the_thread_pool():
    """The thread pool crashed on a broker outage (kombu's connection-error path); prefork rides it out."""
    from tests.faults.conftest import procfile

    worker = procfile()["worker"]
    assert "threads" not in worker


def test_a_database_error_in_a_beat_tick_is_ridden_out(transactional_db, monkeypatch, caplog):
    """The stock scheduler re-reads the schedule inside ``tick`` without catching database
    errors: a PostgreSQL restart at that moment made the beat process exit. Ours logs, closes
    the broken connections and ticks again shortly; the next tick works."""
    from django.db import OperationalError
    from django_celery_beat.schedulers import DatabaseScheduler as Stock

    from architect_studio.celery import app
    from core.beat_scheduler import RETRY_SECONDS, DatabaseScheduler

    scheduler = DatabaseScheduler(app=app, lazy=True)
    scheduler.update_from_dict(settings.CELERY_BEAT_SCHEDULE)
    calls = []

    def terminated(self, *args, **kwargs):
        calls.append("tick")
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(Stock, "tick", terminated)
    with caplog.at_level("WARNING", logger="architect_studio.beat"):
        assert scheduler.tick() == RETRY_SECONDS
    assert calls == ["tick"]
    assert "the database did not answer (OperationalError)" in caplog.text
    monkeypatch.undo()
    assert isinstance(scheduler.tick(), float | int)  # the database answers again: an ordinary tick
