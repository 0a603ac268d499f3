"""The test environment is deterministic (issue 13 item 7): the test settings never
fall into the embedded mode because a probe was slow, every Redis key of a run lives
in the run's own database (TEST_REDIS_DB), and a test worker starts on an empty queue."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from architect_studio import env
from tests.support.paths import ROOT
from tests.support.ports import free_port

# --- fail fast instead of the embedded fallback --------------------------------

PROBE_SCRIPT = r"""
import os, sys
import architect_studio.env as env
closed = int(sys.argv[1])
if "pg" in sys.argv[2:]:
    env.DEFAULT_PG_HOSTPORT = ("127.0.0.1", closed)
if "redis" in sys.argv[2:]:
    env.DEFAULT_REDIS_HOSTPORT = ("127.0.0.1", closed)
os.environ["DJANGO_SETTINGS_MODULE"] = "architect_studio.settings.test"
import django
django.setup()
from django.conf import settings
print("MODE", settings.MODE.describe())
print("REDIS", settings.REDIS_URL)
"""


def _start_test_settings(*missing: str, **extra_env: str) -> subprocess.CompletedProcess:
    child_env = {k: v for k, v in os.environ.items()
                 if k not in ("DATABASE_URL", "DATABASE_ADMIN_URL", "REDIS_URL", "ARCHITECT_EMBEDDED")}
    child_env.update(extra_env)
    return subprocess.run([sys.executable, "-c", PROBE_SCRIPT, str(free_port()), *missing], cwd=ROOT,
                          env=child_env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("missing", "named", "not_named"), [
    (("pg",), "PostgreSQL", "Redis"),
    (("redis",), "Redis", "PostgreSQL"),
    (("pg", "redis"), "PostgreSQL", None),
])
def test_test_settings_refuse_to_start_without_postgres_or_redis(missing, named, not_named):
    result = _start_test_settings(*missing)

    assert result.returncode != 0, result.stdout
    assert "ConfigError" in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert named in message and "ARCHITECT_EMBEDDED=1" in message
    if not_named:
        assert not_named not in message
    else:
        assert "Redis" in message
    assert "MODE" not in result.stdout  # never fell back to SQLite / eager tasks


@pytest.mark.parametrize(("base", "worker", "database"), [("10", "gw3", "13"), ("12", "gw3", "15"), ("15", "gw1", None)])
def test_each_xdist_worker_gets_the_next_redis_database_and_none_past_the_last(base, worker, database):
    result = _start_test_settings(TEST_REDIS_DB=base, PYTEST_XDIST_WORKER=worker)

    if database is None:
        assert result.returncode != 0, result.stdout
        assert "Redis database 16, outside 0-15" in result.stderr.strip().splitlines()[-1]
    else:
        assert result.returncode == 0, result.stderr
        assert f"REDIS redis://127.0.0.1:6379/{database}\n" in result.stdout


def test_embedded_mode_stays_available_to_tests_that_ask_for_it():
    result = _start_test_settings("pg", "redis", ARCHITECT_EMBEDDED="1")

    assert result.returncode == 0, result.stderr[-2000:]
    assert "SQLite (embedded)" in result.stdout and "eager in-process tasks" in result.stdout


def test_strict_probe_waits_longer_than_the_dev_probe(monkeypatch):
    """A loaded machine answers a connect late; the strict (test) probe allows seconds."""
    timeouts: list[float] = []

    def probe(host, port, timeout=0.3):
        timeouts.append(timeout)
        return True

    monkeypatch.setattr(env, "_reachable", probe)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("ARCHITECT_EMBEDDED", raising=False)
    env.detect_mode.cache_clear()
    try:
        mode = env.detect_mode(require_services=True)
    finally:
        env.detect_mode.cache_clear()
    assert not mode.embedded_db and not mode.embedded_broker
    assert len(timeouts) == 2 and min(timeouts) >= env.STRICT_PROBE_TIMEOUT >= 2


# --- one Redis database per run -------------------------------------------------

def _db(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


@pytest.mark.skipif(not settings.MODE.redis_url, reason="Redis mode only")
def test_every_redis_user_of_a_run_uses_the_run_database():
    from core import kick
    from integrations import ratelimit
    from webhooks.incoming import limits

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # xdist workers: the run's database + N
    run_db = str(int(os.environ.get("TEST_REDIS_DB", "10")) + (int(worker[2:]) if worker else 0))
    layer = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    users = {
        "REDIS_URL (kick flags, health)": settings.REDIS_URL,
        "broker": settings.CELERY_BROKER_URL,
        "provider rate limits": ratelimit.redis_url(),
        "incoming rate limits": limits._url(),
        "channel layer": layer["hosts"][0],
    }
    assert {name: _db(url) for name, url in users.items()} == {name: run_db for name in users}
    assert kick._redis().connection_pool.connection_kwargs["db"] == int(run_db)
    assert layer["prefix"].endswith(os.environ.get("TEST_DB_SUFFIX", "") + (f"_{worker}" if worker else ""))
    assert layer["prefix"] != "asgi"


# --- a test worker starts on an empty queue -------------------------------------

@pytest.mark.e2e
@pytest.mark.skipif(not settings.MODE.redis_url, reason="needs the Redis broker")
def test_test_worker_starts_on_a_purged_queue(request, transactional_db):
    """A message left in the test broker by an earlier (killed) run is never executed by
    the next run's worker: the fixture purges the queue before the worker starts."""
    from celery.worker import state

    from integrations.tasks import cleanup_integration_logs, cleanup_oauth_states

    stale_before = state.total_count.get(cleanup_integration_logs.name, 0)
    cleanup_integration_logs.delay()  # left over: no worker is running

    request.getfixturevalue("celery_worker_thread")
    sentinel_before = state.total_count.get(cleanup_oauth_states.name, 0)
    cleanup_oauth_states.delay()
    deadline = time.monotonic() + 30
    while state.total_count.get(cleanup_oauth_states.name, 0) == sentinel_before:
        assert time.monotonic() < deadline, "the test worker never took the sentinel task"
        time.sleep(0.05)

    # FIFO queue, prefetch 1: a stale message would have been taken before the sentinel.
    assert state.total_count.get(cleanup_integration_logs.name, 0) == stale_before
