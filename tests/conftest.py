"""Shared fixtures: tenants as personas (alice and bob in different studios, carol in
both), API clients, and the real Celery worker for end-to-end tests."""

from __future__ import annotations

import django.test
import pytest
from django.conf import settings
from django.db import connections
from rest_framework.test import APIClient

from tests.support.browser import asgi_hub, chromium, logged_in, studio  # noqa: F401 - browser-test fixtures
from tests.support.db_teardown import wait_until_alone
from tests.support.db_template import clone_from_template, drop_template, migrate_into
from tests.support.events import tenant_events  # noqa: F401 - the shared channel-layer listener fixture
from tests.support.factories import Persona, client_for, make_persona
from tests.support.fakes.canva import canva_fake  # noqa: F401 - the fake Canva Connect API
from tests.support.fakes.dropbox import dropbox_fake  # noqa: F401 - the fake Dropbox API v2 (checked by the dropbox SDK)
from tests.support.fakes.figma import figma_fake  # noqa: F401 - the fake Figma REST API
from tests.support.fakes.google_calendar import google_calendar_fake  # noqa: F401 - the fake Calendar API v3
from tests.support.fakes.google_drive import file_server, google_drive_fake  # noqa: F401 - the fake Drive API v3
from tests.support.fakes.graph_calendar import graph_calendar, outlook_on_graph_fake  # noqa: F401 - Graph calendar fake
from tests.support.fakes.onedrive import onedrive_fake  # noqa: F401 - the fake Graph OneDrive
from tests.support.fakes.rest_api import rest_api_fake  # noqa: F401 - a local REST API (the custom_api target)
from tests.support.internal_dns import internal_dns  # noqa: F401 - a host name resolving to loopback
from tests.support.radicale import radicale  # noqa: F401 - the session's real CalDAV server
from tests.support.worker import in_process_worker

# Every test may use the operator alias (core.tenant_context.operator_scope):
# wrapped in its own rolled-back transaction (TestCase) or flushed (transactional).
# It is a second connection: in a non-transactional test it does not see rows the
# test wrote on `default` — tests of cross-tenant work use transactional_db.
if "operator" in settings.DATABASES:
    django.test.TransactionTestCase.databases = {"default", "operator"}


def _template_name() -> str:
    """The run's template: the workers' test database name without its ``_gw<N>``."""
    return connections["owner"].settings_dict["TEST"]["NAME"].rsplit("_gw", 1)[0] + "_template"


def _worker_database_from_template(run_id: str) -> list:
    """Under xdist: this worker's test database is a copy of the run's migrated template
    (tests/support/db_template.py); the returned config tears it down as Django's would."""
    owner = connections["owner"]
    old_name, test_name = owner.settings_dict["NAME"], owner.settings_dict["TEST"]["NAME"]
    clone_from_template("owner", _template_name(), test_name, run_id, migrate_into("owner"))
    owner.close()
    owner.settings_dict["NAME"] = test_name
    settings.DATABASES["owner"]["NAME"] = test_name
    return [(owner, old_name, True)]


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker):
    """The test DB is created and migrated by the owner role (under xdist, cloned from
    the run's migrated template); then the runtime role (`default`) and the operator
    role (`operator`) are pointed at it — not as Django "mirrors", so transactional tests
    flush it between tests. That flush uses TRUNCATE, which we grant those roles in the
    *test* database only (TRUNCATE ignores RLS, so production never grants it)."""
    from django.test.utils import setup_databases, teardown_databases

    run_id = getattr(request.config, "workerinput", {}).get("testrun_uid")
    with django_db_blocker.unblock():
        if "owner" not in settings.DATABASES:  # SQLite / single alias
            db_cfg = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        else:
            if run_id:
                db_cfg = _worker_database_from_template(run_id)
            else:
                db_cfg = setup_databases(verbosity=0, interactive=False, aliases={"owner"})
            test_name = connections["owner"].settings_dict["NAME"]
            assert test_name.startswith("test_")
            for alias in ("default", "operator"):
                if alias not in settings.DATABASES:
                    continue
                connections[alias].close()
                connections[alias].settings_dict["NAME"] = test_name
                settings.DATABASES[alias]["NAME"] = test_name
                role = settings.DATABASES[alias]["USER"]
                with connections["owner"].cursor() as cursor:
                    cursor.execute(f'GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO "{role}"')
    yield
    with django_db_blocker.unblock():
        for conn in connections.all():
            conn.close()
        if "owner" in settings.DATABASES:
            # Workers, servers and threads of the last tests may still be closing their
            # connections; DROP DATABASE would wait only 5 s for them (tests/support/db_teardown.py).
            wait_until_alone("owner", connections["owner"].settings_dict["NAME"])
        teardown_databases(db_cfg, verbosity=0)
        if run_id and "owner" in settings.DATABASES:
            drop_template("owner", _template_name())


#: Filled by migrate, not by tests: kept across the truncation below.
_KEPT_TABLES = ("django_migrations", "django_content_type", "auth_permission")


def _transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    by_marker = bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    return by_marker or bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def _truncate_after_transactional_tests(request):
    """Transactional tests commit; Django's flush cannot clean up after them here (the
    router lets only `owner` migrate, so flush on `default` finds no tables). The rows the
    test may have left are deleted instead, so no test sees another's rows
    (tests/architect_studio/test_transactional_cleanup.py).

    "May have left": a table whose heap has any page (a table that never had a row, even
    a rolled-back one, has none). The operator role deletes (it bypasses RLS, and every
    table is granted to it), in one transaction: the foreign keys are all DEFERRABLE, so
    they are checked once, at commit, when every referencing row is gone too. DELETE, not
    TRUNCATE: TRUNCATE gives each table and index a new file, 0.2-2 s per test on a loaded
    machine (about half a second per transactional test, seen in the server's log);
    deleting the few rows a test leaves takes milliseconds. Tables filled by migrate are kept."""
    yield
    if "owner" not in settings.DATABASES or not _transactional(request):
        return
    import psycopg

    # Without an operator role configured, the owner truncates (RLS would hide rows from its DELETE).
    by_operator = "operator" in settings.DATABASES
    params = connections["operator" if by_operator else "owner"].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT format('%%I', tablename) FROM pg_tables WHERE schemaname = 'public' "
            "AND NOT (tablename = ANY(%s)) AND tablename NOT LIKE 'django_celery_beat%%' "
            "AND pg_relation_size(format('%%I.%%I', schemaname, tablename)::regclass) > 0",
            [list(_KEPT_TABLES)],
        )
        tables = [row[0] for row in cursor.fetchall()]
        if not tables:
            return
        cursor.execute("SET LOCAL lock_timeout = '10s'")
        if not by_operator:
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
            return
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in tables:
            cursor.execute(f"DELETE FROM {table}")


@pytest.fixture(autouse=True)
def _fresh_provider_limits(monkeypatch):
    """Each test starts with empty provider rate-limit buckets and no Redis-down mark: the
    fakes' realm and tenant ids are constants, so an earlier test in this process (a 429
    honoured, a small bucket drained, Redis marked down by a fault test) must not leave a
    bucket closed for the next — in the process or in the run's Redis database."""
    from core import redis_client
    from integrations import ratelimit

    monkeypatch.setattr(ratelimit, "_local", ratelimit._LocalBuckets())
    monkeypatch.setattr(redis_client, "_down_until", {})
    if settings.MODE.redis_url:
        import redis

        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2)
        try:
            keys = list(client.scan_iter("integrations:ratelimit:*", count=1000))
            if keys:
                client.delete(*keys)
        except redis.RedisError:
            pass  # a fault test left Redis stopped: it restarts it itself
        finally:
            client.close()


@pytest.fixture(scope="session", autouse=True)
def _clean_test_broker():
    if settings.MODE.redis_url:
        import redis

        redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    yield


@pytest.fixture
def alice(db) -> Persona:
    return make_persona("Alice Studio", "alice@example.com")


@pytest.fixture
def bob(db) -> Persona:
    return make_persona("Bob Studio", "bob@example.com")


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def alice_api(alice) -> APIClient:
    return client_for(alice)


@pytest.fixture
def bob_api(bob) -> APIClient:
    return client_for(bob)


@pytest.fixture
def empty_broker_queue():
    """The run's broker queues emptied first: a test that reads the queue (as a worker would)
    sees only the messages it caused, not those an earlier test of this process left."""
    from architect_studio.celery import app

    app.control.purge()


@pytest.fixture
def celery_worker_thread(transactional_db):
    """A real Celery worker (celery.contrib.testing) on the real Redis broker, started on
    an empty queue: messages left by an earlier test (or a killed run) are purged first."""
    from architect_studio.celery import app

    app.control.purge()
    with in_process_worker(app) as worker:
        yield worker


@pytest.fixture
def sync_worker(transactional_db):
    """A real worker consuming both queues, as the Procfile's `worker` and `sync` lines do together."""
    from architect_studio.celery import app

    app.control.purge()
    with in_process_worker(app, queues=["celery", "sync"]) as worker:
        yield worker


# --- the local OAuth 2.0 server (tests/support/oauth_server), as the "hubspot" provider app ---


@pytest.fixture
def local_oauth_http(monkeypatch, settings):
    """oauthlib insists on https; the local server speaks http on 127.0.0.1."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    settings.INTEGRATIONS_RATELIMIT_REDIS_URL = settings.CELERY_BROKER_URL


@pytest.fixture(scope="module")
def oauth_server():
    from tests.support.oauth_server import harness

    server = harness.start(f"{settings.PUBLIC_BASE_URL}/api/integrations/callback/hubspot")
    yield server
    server.stop()


@pytest.fixture
def hubspot_app(db, oauth_server, local_oauth_http):
    """The local OAuth server as the "hubspot" provider's app (http allowed for it)."""
    from integrations.services import provider_app_set

    return provider_app_set(
        provider_id="hubspot", client_id=oauth_server.client_id, client_secret=oauth_server.client_secret,
        authorization_url=oauth_server.authorization_url, token_url=oauth_server.token_url,
        revoke_url=oauth_server.revoke_url, api_base_url=oauth_server.base_url, scopes="read write",
    )


#: Marks of the modules that take longest (real processes killed, a whole SQLite hub started,
#: chromium, real workers): scheduled first, so under `-n 2 --dist loadfile` no long module
#: starts last on one worker while the other sits idle.
_LONG_FIRST = ("faults", "embedded", "browser", "e2e")


def pytest_collection_modifyitems(config, items):
    """Modules (each one xdist unit under --dist loadfile) ordered longest kind first, each
    module's own order kept; a stable sort, so a plain serial run only changes module order."""
    rank: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        marks = {mark.name for mark in item.iter_markers()}
        kind = next((i for i, name in enumerate(_LONG_FIRST) if name in marks), len(_LONG_FIRST))
        rank[module] = min(rank.get(module, kind), kind)
    items.sort(key=lambda item: rank[item.nodeid.split("::", 1)[0]])
