#!/usr/bin/env python
"""Sync engine benchmark (issue 11 item 11): import rate beside a same-run bulk insert, an
incremental run's query count at two sizes, and the request rate under a provider limit.
Long (~490 lines): one benchmark, its scenarios and their report; nothing here is imported.

    .venv/bin/python bench/sync.py [--events 10000] [--small 1000] [--changes 10]
        [--rate 10] [--exports 200] [--database architect_studio_bench_sync] [--keep]

What it does (in this process: the engine runs in-process, as the sync worker's task body
``integrations.sync.services.sync_execute`` would run it; the provider is the Google Calendar
fake of the tests, tests/support/fakes/google_calendar.py, a real HTTP server on 127.0.0.1
reached through the hub's ProviderClient and the real google_calendar adapter):

1. creates a database of its own on the configured server and migrates it;
2. **full import**: the fake holds ``--events`` timed events in one calendar; a connected
   google_calendar integration (provider app ``api_base_url`` = the fake) imports them with
   the default mapping (pages of 250, as the adapter asks). records/s = events / run time
   (the whole run: HTTP, mapping, validation, meetings, outbox events, links, cursor);
3. **baseline**, same run, same database: the same meetings (the values the mapping
   produced) inserted with one ``bulk_create`` plus one ``bulk_create`` of their
   ``EntityEvent`` outbox rows, in one transaction, then deleted;
4. **incremental**: ``--changes`` events are edited in the fake; the next run imports them;
   its duration and its SQL query count (``CaptureQueriesContext``). The same is done on a
   second tenant holding ``--small`` events: the two counts show the work is O(changes);
5. **rate-limited**: the fake answers 429 beyond ``--rate`` requests in any second and the
   provider's hub limit (``Provider.rate_limit``) is set to the same figure; ``--exports``
   local meetings are exported (one insert request each) by a sync run: requests/s achieved
   (from the first request's arrival at the fake to the last's; over the whole run, which
   also reads the 200 meetings and writes the log, in brackets) beside the permitted rate,
   and the count of 429 answers. The hub's limit is the fake's own figure (10 per 1 s):
   the shared limiter (integrations/ratelimit.py) keeps every rolling window of the period
   at or under it, so no workaround figure is needed (``--hub-limit`` tries others);
6. ``--paced`` (optional): paced outgoing webhooks while a sync worker imports: two Celery
   workers as the Procfile runs them (``-Q celery``: outbox drain and deliveries, threads x8;
   ``-Q sync``: sync runs, one process) on a private Redis database; a tenant with
   ``--endpoints`` signed outgoing webhooks (meeting.created) to local receivers
   (bench/outgoing.py's Sink); ``--paced-events`` meetings created at ``--paced-rate``/s,
   latency event commit -> receipt: once idle, once while a ``--events`` import (a fresh
   integration of another tenant, queued by ``sync_request`` to the sync queue) runs;
7. drops its database (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "architect_studio.settings.dev")
os.environ["WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = "1"  # the fake provider is on 127.0.0.1

from architect_studio.env import detect_mode  # noqa: E402

CAL = "studio@example.com"


def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql)


def timed(n: int) -> dict:
    """A Google Calendar Event resource's start/end
    (https://developers.google.com/calendar/api/v3/reference/events#resource)."""
    day, hour = 1 + n % 28, 8 + n % 10
    return {"start": {"dateTime": f"2026-12-{day:02d}T{hour:02d}:00:00+02:00", "timeZone": "Asia/Jerusalem"},
            "end": {"dateTime": f"2026-12-{day:02d}T{hour:02d}:45:00+02:00", "timeZone": "Asia/Jerusalem"}}


def seed_events(fake, n: int) -> list[str]:
    ids = []
    for i in range(n):
        event = fake.put_event(CAL, summary=f"Site visit {i}", description=f"Bench event {i}",
                               location="Tel Aviv", attendees=[{"email": f"client{i % 50}@example.com"}], **timed(i))
        ids.append(event["id"])
    return ids


def connect(name: str, fake_url: str):
    """A tenant with a connected google_calendar integration importing meetings (default mapping)."""
    from django.utils import timezone

    from core.tenant_context import tenant_scope
    from integrations.models import Integration
    from integrations.tokens import Credentials
    from tenancy.services import tenant_provision

    provision = tenant_provision(name=name, email=f"{name.lower().replace(' ', '-')}@example.com")
    tenant, user = provision.tenant, provision.user
    with tenant_scope(tenant.id):
        integration = Integration(tenant=tenant, provider="google_calendar", name="Google Calendar",
                                  connected_by=user, status="connected", connection_config={})
        creds = Credentials("ya29.bench", "1//bench", timezone.now() + timedelta(hours=2), ["s"])
        integration.set_secret("oauth_encrypted", json.dumps(creds.as_json()))
        integration.token_expires_at = creds.expires_at
        integration.settings = {"calendars": [{"calendarId": CAL, "calendarName": "Studio", "syncEnabled": True}]}
        integration.sync_settings = {
            "enabled": True, "direction": "import", "frequency": "manual", "fieldMappings": [], "filters": [],
            "entities": [{"localEntity": "meeting", "remoteEntity": "event", "enabled": True, "direction": "import"}]}
        integration.save()
    return tenant, integration


def run(integration, *, capture: bool = False):
    """POST /sync's service, then the task's body here; (log row, seconds, queries or None)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.tenant_context import tenant_scope
    from integrations.models import Integration, IntegrationLog
    from integrations.sync.services import sync_execute, sync_request

    with tenant_scope(integration.tenant_id):
        entry = sync_request(integration=Integration.objects.get(pk=integration.pk))
    started = time.perf_counter()
    if capture:
        with CaptureQueriesContext(connection) as ctx:
            sync_execute(log_id=entry.pk, tenant_id=integration.tenant_id)
        queries = len(ctx.captured_queries)
    else:
        sync_execute(log_id=entry.pk, tenant_id=integration.tenant_id)
        queries = None
    seconds = time.perf_counter() - started
    with tenant_scope(integration.tenant_id):
        entry = IntegrationLog.objects.get(pk=entry.pk)
    if entry.status != "success":
        raise SystemExit(f"run {entry.pk} ended {entry.status}: {entry.error_message} {entry.failed_items[:3]}")
    return entry, seconds, queries


def baseline(tenant, integration) -> float:
    """The same meetings (as the import stored them) and their outbox rows, bulk-inserted: seconds."""
    from django.db import transaction

    from core.tenant_context import tenant_scope
    from entities.models import EntityEvent, Meeting
    from entities.services import entity_snapshots

    with tenant_scope(tenant.id):
        imported = list(Meeting.objects.filter(tenant_id=tenant.id))
        values = [{f: getattr(m, f) for f in ("title", "description", "start_time", "end_time", "location",
                                                "attendees", "status")} for m in imported]
    source = f"integration:{integration.pk}"
    started = time.perf_counter()
    with tenant_scope(tenant.id), transaction.atomic():
        rows = Meeting.objects.bulk_create([Meeting(tenant_id=tenant.id, **v) for v in values])
        EntityEvent.objects.bulk_create([
            EntityEvent(tenant_id=tenant.id, entity_type="meeting", entity_id=m.pk, event="created",
                        data=snapshot, new_status=m.status, source=source)
            for m, snapshot in zip(rows, entity_snapshots(rows), strict=True)])
    seconds = time.perf_counter() - started
    with tenant_scope(tenant.id):
        ids = [m.pk for m in rows]
        EntityEvent.objects.filter(tenant_id=tenant.id, entity_id__in=ids).delete()
        Meeting.objects.filter(tenant_id=tenant.id, pk__in=ids).delete()
    return seconds


def incremental(fake, integration, event_ids: list[str], changes: int):
    for n, event_id in enumerate(event_ids[:changes]):
        fake.edit_event(CAL, event_id, summary=f"Site visit {n} (moved)", location="Haifa")
    entry, seconds, queries = run(integration, capture=True)
    assert entry.summary["updated"] == changes, entry.summary
    return seconds, queries


def rate_limited(fake, rate: int, exports: int, fake_url: str, hub: tuple[int, float], *,
                 name: str) -> tuple[int, float, int, int, float]:
    """``exports`` local meetings exported under the fake's limit and a matching hub limit."""
    from core.tenant_context import tenant_scope
    from entities.services import entity_create
    from integrations.models import Integration
    from integrations.providers import catalog
    from integrations.providers.base import RateLimit

    provider = catalog.PROVIDERS["google_calendar"]
    catalog.PROVIDERS["google_calendar"] = dataclasses.replace(
        provider, rate_limit=RateLimit(hub[0], hub[1], f"bench: the fake's limit, {rate} requests in any one second"))
    tenant, integration = connect(name, fake_url)
    with tenant_scope(tenant.id):
        Integration.objects.filter(pk=integration.pk).update(sync_settings={
            **integration.sync_settings, "direction": "export",
            "entities": [{"localEntity": "meeting", "remoteEntity": "event", "enabled": True, "direction": "export"}]})
        for n in range(exports):
            entity_create(tenant=tenant, entity_type="meeting", source="api", data={
                "title": f"Design review {n}", "start_time": "2026-12-09T09:00:00+02:00",
                "end_time": "2026-12-09T10:00:00+02:00"})
    fake.limit_rate(rate)
    before, before_429 = fake.count(), fake.count(status=429)
    arrivals: list[float] = []
    handle = fake.handle

    def timed_handle(*a, **kw):  # when each request reached the provider
        arrivals.append(time.monotonic())
        return handle(*a, **kw)

    fake.handle = timed_handle
    started = time.perf_counter()
    entry, _, _ = run(integration)
    seconds = time.perf_counter() - started
    catalog.PROVIDERS["google_calendar"] = provider
    fake.limit_rate(None)
    assert entry.summary["created"] == exports, entry.summary
    del fake.handle
    span = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
    return fake.count() - before, seconds, fake.count(status=429) - before_429, entry.summary["created"], span


def paced_during_import(fake, args) -> list[tuple[str, str, str]]:
    """Outgoing webhook latency, idle and while the sync worker imports ``--events`` events."""
    import uuid

    import redis
    from django.conf import settings

    from bench.outgoing import Sink, pct
    from core.tenant_context import tenant_scope
    from entities.services import entity_create
    from integrations.models import Integration, IntegrationLog
    from integrations.sync.services import sync_request
    from tenancy.services import tenant_provision
    from webhooks.outgoing import services

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    sink = Sink()
    urls = sink.start(args.endpoints)
    tag = uuid.uuid4().hex[:8]
    tenant = tenant_provision(name=f"Bench Paced {tag}", email=f"bench-paced-{tag}@example.com").tenant
    with tenant_scope(tenant.id):
        for i, url in enumerate(urls):
            services.outgoing_webhook_create(tenant=tenant, data={
                "name": f"bench {i}", "url": url, "triggers": [{"entityType": "meeting", "events": ["created"]}],
                "sign_requests": True, "signature_secret": f"bench-secret-{tag}"})
    env = {**os.environ, "OUTGOING_WEBHOOK_ETA_MAX_SECONDS": "900"}
    nodes = {"celery": f"bench-hooks-{tag}", "sync": f"bench-sync-{tag}"}
    workers = [subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "architect_studio", "worker", "-Q", queue, "-P", pool, "-c", conc,
         "-l", "WARNING", "--without-mingle", "--without-gossip", "-n", f"{node}@%h"],
        cwd=REPO, env=env, start_new_session=True)
        for (queue, node), (pool, conc) in zip(nodes.items(), [("threads", "8"), ("prefork", "1")], strict=True)]
    lines = []
    try:
        from architect_studio.celery import app

        deadline = time.monotonic() + 60
        names = [f"{node}@{os.uname().nodename}" for node in nodes.values()]
        while len(app.control.ping(timeout=0.5, destination=names) or []) < len(names):
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                raise SystemExit("the bench workers did not start")

        def create(n: int, rate: float | None) -> dict[str, float]:
            commits, t0 = {}, time.monotonic()
            for i in range(n):
                if rate:
                    delay = t0 + i / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                with tenant_scope(tenant.id):
                    meeting = entity_create(tenant=tenant, entity_type="meeting", data={
                        "title": f"paced {i}", "start_time": "2026-12-09T09:00:00+02:00",
                        "end_time": "2026-12-09T10:00:00+02:00"})
                commits[str(meeting.id)] = time.time()
            return commits

        def wait(commits: dict[str, float]) -> list[float]:
            expected = {(eid, i) for eid in commits for i in range(args.endpoints)}
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with sink.lock:
                    if expected <= sink.received.keys():
                        break
                time.sleep(0.05)
            with sink.lock:
                return [(sink.received[k] - commits[k[0]]) * 1000 for k in expected if k in sink.received]

        wait(create(5, None))  # warm-up
        idle = wait(create(args.paced_events, args.paced_rate))
        lines.append((f"paced outgoing, idle ({args.paced_rate:g} events/s)",
                      f"{len(idle)}/{args.paced_events * args.endpoints} delivered",
                      f"p50 {pct(idle, 50):.0f} ms, p99 {pct(idle, 99):.0f} ms"))

        importer, integration = connect(f"Bench Sync Worker {tag}", fake.base_url)
        with tenant_scope(importer.id):
            entry = sync_request(integration=Integration.objects.get(pk=integration.pk))
        queued = time.monotonic()

        def current() -> IntegrationLog:
            with tenant_scope(importer.id):
                return IntegrationLog.objects.get(pk=entry.pk)

        def status() -> str:
            return current().status

        while status() == "running" and not (current().progress or {}).get("done") and time.monotonic() - queued < 60:
            time.sleep(0.05)  # until the worker has committed the run's first page
        busy = wait(create(args.paced_events, args.paced_rate))
        still_running = status() == "running"
        while status() == "running" and time.monotonic() - queued < 300:
            time.sleep(0.2)
        import_seconds = time.monotonic() - queued
        lines.append((f"paced outgoing during a {args.events} import",
                      f"{len(busy)}/{args.paced_events * args.endpoints} delivered"
                      f"{'' if still_running else ' (the import ended first)'}",
                      f"p50 {pct(busy, 50):.0f} ms, p99 {pct(busy, 99):.0f} ms"))
        done = current()
        lines.append(("  the import on the sync worker", f"queued -> {done.status} in {import_seconds:.1f} s",
                      f"{(done.summary or {}).get('created')} created"))
        lines.append(("goal: paced p99 < 250 ms during the import", "", "met" if pct(busy, 99) < 250 else "NOT MET"))
        return lines
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
        sink.stop()


def core_runs(fake, args, lines: list) -> list[tuple[str, bool, str]]:
    """Runs 1-3 (full import and baseline, incremental at two sizes, rate-limited export): the goals."""
    from core.tenant_context import operator_scope
    from integrations.services import provider_app_set
    from tests.support.fakes.google_calendar import FakeGoogleCalendar

    # 1. full import of --events, and the baseline
    big_ids = seed_events(fake, args.events)
    tenant, integration = connect("Bench Sync", fake.base_url)
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    entry, seconds, _ = run(integration)
    if args.profile:
        profiler.disable()
        pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(os.environ.get("BENCH_PROFILE_FILTER", ""), 40)
    assert entry.summary["created"] == args.events, entry.summary
    import_rate = args.events / seconds
    base_seconds = baseline(tenant, integration)
    base_rate = args.events / base_seconds
    lines.append(("full import", f"{args.events} events, {seconds:.1f} s", f"{import_rate:,.0f} records/s"))
    lines.append(("bulk-insert baseline", f"same rows + outbox rows, {base_seconds:.2f} s",
                  f"{base_rate:,.0f} records/s"))
    ratio = import_rate / base_rate

    # 2. incremental after --changes remote edits, at --events and at --small
    inc_seconds, inc_queries = incremental(fake, integration, big_ids, args.changes)
    small_fake = FakeGoogleCalendar().start()  # its own fake: the small tenant's calendar holds --small events
    small_fake.add_calendar(CAL, "Studio", primary=True)
    small_ids = seed_events(small_fake, args.small)
    with operator_scope("bench: provider app"):
        provider_app_set(provider_id="google_calendar", api_base_url=small_fake.base_url)
    _, small_integration = connect("Bench Sync Small", small_fake.base_url)
    run(small_integration)
    small_seconds, small_queries = incremental(small_fake, small_integration, small_ids, args.changes)
    small_fake.stop()
    with operator_scope("bench: provider app"):
        provider_app_set(provider_id="google_calendar", api_base_url=fake.base_url)
    lines.append((f"incremental ({args.changes} changes) over {args.events}", f"{inc_seconds * 1000:.0f} ms",
                  f"{inc_queries} queries"))
    lines.append((f"incremental ({args.changes} changes) over {args.small}", f"{small_seconds * 1000:.0f} ms",
                  f"{small_queries} queries"))

    # 3. rate-limited export
    limits = args.hub_limit or f"{args.rate}/1"
    rate_runs = []
    for n, limit in enumerate(limits.split(",")):
        hub_requests, _, hub_seconds = limit.partition("/")
        hub = (int(hub_requests), float(hub_seconds))
        requests_made, rl_seconds, got_429, exported, span_rate = rate_limited(
            fake, args.rate, args.exports, fake.base_url, hub, name=f"Bench Sync Rate {n}")
        achieved = requests_made / rl_seconds
        rate_runs.append((hub, span_rate, got_429))
        lines.append((f"export, fake {args.rate} req/s, hub {hub[0]} per {hub[1]:g} s",
                      f"{exported} events, {requests_made} requests, {rl_seconds:.1f} s",
                      f"{span_rate:.2f} req/s first to last request ({achieved:.2f} over the run), {got_429} x 429"))
    goals = [
        (">= 1,000 records/s", import_rate >= 1000, f"{import_rate:,.0f}"),
        (">= 0.25 x bulk baseline", ratio >= 0.25, f"{ratio:.2f} x"),
        ("incremental queries independent of size", inc_queries == small_queries,
         f"{inc_queries} vs {small_queries}"),
    ]
    for hub, achieved, got_429 in rate_runs:
        goals.append((f">= 90 % of {args.rate} req/s, 0 x 429 (hub {hub[0]}/{hub[1]:g} s)",
                      achieved >= 0.9 * args.rate and got_429 == 0,
                      f"{100 * achieved / args.rate:.0f} %, {got_429} x 429"))
    return goals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--rate", type=int, default=10)
    parser.add_argument("--exports", type=int, default=200)
    parser.add_argument("--hub-limit", default="", help="the hub's limits to try, REQUESTS/SECONDS[,...] "
                        "(default: RATE/1, the provider's own figure)")
    parser.add_argument("--database", default="architect_studio_bench_sync")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--paced", action="store_true", help="also: paced outgoing webhooks during an import")
    parser.add_argument("--paced-events", type=int, default=250)
    parser.add_argument("--paced-rate", type=float, default=50.0)
    parser.add_argument("--endpoints", type=int, default=2)
    parser.add_argument("--only-paced", action="store_true", help="skip runs 1-3 (seed the fake, then --paced)")
    parser.add_argument("--profile", action="store_true", help="cProfile the full import (top 25 by cumulative)")
    args = parser.parse_args()

    mode = detect_mode()
    if mode.embedded_db or not mode.database_admin_url:
        print("bench/sync.py needs PostgreSQL and the owner's DATABASE_ADMIN_URL (or the local defaults).")
        return 2
    os.environ.update({"DATABASE_URL": _with_db(mode.database_url, args.database),
                       "DATABASE_ADMIN_URL": _with_db(mode.database_admin_url, args.database),
                       "DATABASE_OPERATOR_URL": _with_db(mode.database_operator_url, args.database)})
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")  # outbox wake-ups: no dev worker takes them
    _admin(mode.database_admin_url, f'DROP DATABASE IF EXISTS "{args.database}"')
    _admin(mode.database_admin_url, f'CREATE DATABASE "{args.database}"')
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO,
                       env={**os.environ}, check=True)
        import logging

        import django

        django.setup()
        logging.disable(logging.WARNING)
        from django.conf import settings

        settings.DEBUG = False
        from core.tenant_context import operator_scope
        from integrations.services import provider_app_set
        from tests.support.fakes.google_calendar import FakeGoogleCalendar

        fake = FakeGoogleCalendar().start()
        fake.add_calendar(CAL, "Studio", primary=True)
        with operator_scope("bench: provider app"):
            provider_app_set(provider_id="google_calendar", client_id="bench.apps.googleusercontent.com",
                             client_secret="bench", api_base_url=fake.base_url)
        lines = []
        load_before = os.getloadavg()[0]

        goals: list[tuple[str, bool, str]] = []
        if args.only_paced:
            seed_events(fake, args.events)
        else:
            goals = core_runs(fake, args, lines)
        if args.paced or args.only_paced:
            lines.extend(paced_during_import(fake, args))
        fake.stop()

        width = max(len(a) for a, _, _ in lines)
        print(f"\n{os.cpu_count()} CPUs; load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
        for a, b, c in lines:
            print(f"{a:<{width}}  {b:<40}  {c}")
        print()
        for goal, met, figure in goals:
            print(f"goal {goal:<52} {figure:>18}  {'met' if met else 'NOT MET'}")
    finally:
        if not args.keep:
            from django.db import connections

            for conn in connections.all(initialized_only=True):
                conn.close()
                if hasattr(conn, "close_pool"):
                    conn.close_pool()
            _admin(mode.database_admin_url, f'DROP DATABASE IF EXISTS "{args.database}"')
            print(f"dropped database {args.database}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
