#!/usr/bin/env python
"""Benchmark of the log lists at scale (issue 12 item 9): API and admin, p50/p95, beside same-run baselines.

What it does:

1. creates a database of its own (``--database``, on the configured server, owned by
   the schema owner role) and migrates it (``manage.py migrate``);
2. seeds ``--rows`` webhook_logs rows and ``--rows / 10`` integration_logs rows in SQL
   (``INSERT … SELECT … FROM generate_series``, in batches, the table's secondary
   indexes dropped during the load and rebuilt after, then ``VACUUM ANALYZE``):
   20 tenants; the hot tenant ("Bench Logs") holds 20 % of the rows and its hot
   outgoing webhook 10 %; 14 days of timestamps; statuses 88 % success, 8 % failed,
   3 % skipped, 1 % pending; 8 event types, skewed; the hot integration holds 20 % of
   the integration logs;
3. times each list through Django's test client in this process (whole request:
   middleware, tenant scope, RLS, serializer; no network): ``--iterations`` requests
   each (after 3 untimed ones), the first page and a page 20 ``next`` links deep;
   p50 / p95 in ms;
4. beside each API list, two same-run baselines on the same data (SQL only, no request
   around it): **old shape** — the query pair the page-number list ran (exact
   ``COUNT(*)`` + ``ORDER BY … LIMIT 50``, now on the new indexes);
   **bare** — a bare indexed ``SELECT id … ORDER BY timestamp DESC LIMIT 50`` under the
   same tenant scope. Beside the admin search, the old search's query shape
   (``UPPER(col::text) = UPPER(term)`` over three columns, as ``search_fields = ["=…"]``
   ran it);
5. drops its database (``--keep`` keeps it for another run: ``--reuse`` skips 1–2).

Usage: ``.venv/bin/python bench/logs.py [--rows 10000000] [--database architect_studio_bench_logs]
[--iterations 30] [--keep] [--reuse]``. 10M rows take ~7 GB of disk while it runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "architect_studio.settings.dev")

from architect_studio.env import detect_mode  # noqa: E402

EVENTS = ["meeting.created", "meeting.updated", "task.created", "task.updated", "payment.created",
          "document.created", "client.updated", "expense.created"]
TENANTS = 20
HOOKS_PER_TENANT = 10


def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def create_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_with_db(admin_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_with_db(admin_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


# --- seeding (SQL; the operator role bypasses RLS, the owner rebuilds indexes) ----------------
SEED_WEBHOOK_LOGS = """
INSERT INTO webhook_logs (tenant_id, webhook_id, webhook_type, direction, method, url, headers, body,
    response_status, response_body, status, attempt, max_attempts, "timestamp", duration_ms, delivery_id,
    event_type, claim_count)
SELECT h.tenant_id, h.webhook_id, h.kind, h.kind, 'POST', h.url,
    jsonb_build_object('Content-Type', 'application/json', 'X-Webhook-Event', ev.name),
    jsonb_build_object('id', x.g, 'title', 'Meeting ' || x.g, 'status', 'scheduled', 'event', ev.name),
    CASE st.name WHEN 'success' THEN 200 WHEN 'failed' THEN 500 ELSE NULL END,
    CASE WHEN h.kind = 'outgoing' THEN '{"ok": true}'::jsonb END,
    st.name, 1 + (x.a < 0.1)::int, 3, now() - x.t * interval '14 days', (x.a * 500)::int,
    CASE WHEN h.kind = 'outgoing' THEN gen_random_uuid() END, ev.name, 0
FROM (SELECT g, random() AS r, random() AS s, random() AS e, random() AS t, random() AS a
      FROM generate_series(%(start)s, %(stop)s) AS g OFFSET 0) AS x
JOIN bench_hooks h ON h.n = CASE WHEN x.r < 0.10 THEN 0
                                 WHEN x.r < 0.20 THEN 1 + floor((x.r - 0.10) / 0.10 * 9)::int
                                 ELSE 10 + least(floor((x.r - 0.20) / 0.80 * %(others)s)::int, %(others)s - 1) END
JOIN bench_events ev ON ev.n = floor(x.e * x.e * 8)::int
JOIN bench_statuses st ON x.s >= st.lo AND x.s < st.hi
"""

SEED_INTEGRATION_LOGS = """
INSERT INTO integration_logs (tenant_id, integration_id, action, direction, status, summary, started_at,
    completed_at, duration_ms, created_at)
SELECT i.tenant_id, i.integration_id, (ARRAY['sync','sync','sync','import','export','api_call','test',
    'token_refresh'])[1 + floor(x.e * 8)::int], 'outgoing', st.name,
    jsonb_build_object('total', 10, 'created', 2, 'updated', 3, 'skipped', 5),
    now() - x.t * interval '30 days', now() - x.t * interval '30 days' + interval '2 seconds', 2000, now()
FROM (SELECT g, random() AS r, random() AS s, random() AS e, random() AS t
      FROM generate_series(%(start)s, %(stop)s) AS g OFFSET 0) AS x
JOIN bench_integrations i ON i.n = CASE WHEN x.r < 0.20 THEN 0
                                        ELSE 1 + least(floor((x.r - 0.20) / 0.80 * %(others)s)::int, %(others)s - 1) END
JOIN bench_statuses st ON x.s >= st.lo AND x.s < st.hi AND st.name <> 'pending'
"""


def provision(rows: int) -> dict:
    """Tenants, the hot tenant's user and webhooks, the integrations; then the SQL seed."""
    import uuid

    from django.db import connections

    from core.tenant_context import operator_scope, tenant_scope
    from integrations.models import Integration
    from tenancy.models import Tenant
    from tenancy.services import tenant_provision
    from webhooks.models import OutgoingWebhook

    hot = tenant_provision(name="Bench Logs", email="bench-logs@example.com", staff=True)
    tenants = [hot.tenant] + [Tenant.objects.create(name=f"Bench Logs {i}", slug=f"bench-logs-{i}")
                              for i in range(1, TENANTS)]
    hooks, integrations = [], []
    for ti, tenant in enumerate(tenants):
        with tenant_scope(tenant.id):
            for hi in range(HOOKS_PER_TENANT):
                kind = "outgoing" if hi % 2 == 0 else "incoming"
                if ti == 0 and kind == "outgoing":
                    hook = OutgoingWebhook.objects.create(
                        tenant=tenant, name=f"bench {hi}", url=f"https://hooks.example.com/{hi}",
                        triggers=[{"entityType": "meeting", "events": ["created", "updated"]}])
                    webhook_id = hook.pk
                else:
                    webhook_id = uuid.uuid4()
                hooks.append((len(hooks), tenant.id, webhook_id, kind, f"https://hooks.example.com/{ti}/{hi}"))
            for provider in ("google_calendar", "hubspot"):
                integration = Integration.objects.create(tenant=tenant, provider=provider, name=provider,
                                                         connected_by=hot.user, status="connected")
                integrations.append((len(integrations), tenant.id, integration.pk))

    with operator_scope("bench: seed the log tables") as alias, connections[alias].cursor() as cur:
        cur.execute("CREATE TEMP TABLE bench_hooks (n int, tenant_id uuid, webhook_id uuid, kind text, url text)"
                    " ON COMMIT DROP")
        cur.executemany("INSERT INTO bench_hooks VALUES (%s, %s, %s, %s, %s)", hooks)
        cur.execute("CREATE TEMP TABLE bench_integrations (n int, tenant_id uuid, integration_id uuid) ON COMMIT DROP")
        cur.executemany("INSERT INTO bench_integrations VALUES (%s, %s, %s)", integrations)
        cur.execute("CREATE TEMP TABLE bench_events ON COMMIT DROP AS"
                    " SELECT n - 1 AS n, name FROM unnest(%s::text[]) WITH ORDINALITY AS e(name, n)", [EVENTS])
        cur.execute("CREATE TEMP TABLE bench_statuses ON COMMIT DROP AS SELECT * FROM (VALUES"
                    " ('success', 0.0, 0.88), ('failed', 0.88, 0.96), ('skipped', 0.96, 0.99),"
                    " ('pending', 0.99, 1.01)) AS s(name, lo, hi)")
        for table, sql, total, others in (
            ("webhook_logs", SEED_WEBHOOK_LOGS, rows, len(hooks) - 10),
            ("integration_logs", SEED_INTEGRATION_LOGS, rows // 10, len(integrations) - 1),
        ):
            started = time.monotonic()
            batch = 1_000_000
            for start in range(1, total + 1, batch):
                cur.execute(sql, {"start": start, "stop": min(total, start + batch - 1), "others": others})
                print(f"  {table}: {min(total, start + batch - 1):,} / {total:,} rows"
                      f" ({time.monotonic() - started:.0f} s)", flush=True)
    return {"token": hot.token, "tenant": hot.tenant, "user": hot.user, "hot_webhook": hooks[0][2],
            "hot_integration": integrations[0][2]}


def load(owner_url: str, operator_url: str, rows: int) -> dict:
    """Seed with the secondary indexes dropped (rebuilt after, as one build each), then VACUUM ANALYZE."""
    import psycopg

    tables = ("webhook_logs", "integration_logs")
    with psycopg.connect(owner_url, autocommit=True) as conn:
        defs = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_index x"
            " ON x.indexrelid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass"
            " WHERE i.tablename = ANY(%s) AND NOT x.indisunique AND NOT x.indisprimary", [list(tables)]).fetchall()
        for name, _ in defs:
            conn.execute(f'DROP INDEX "{name}"')
    started = time.monotonic()
    info = provision(rows)
    print(f"seeded in {time.monotonic() - started:.0f} s; rebuilding {len(defs)} indexes", flush=True)
    started = time.monotonic()
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in defs:
            conn.execute(definition)
        print(f"indexes rebuilt in {time.monotonic() - started:.0f} s; vacuum analyze", flush=True)
        for table in tables:
            conn.execute(f"VACUUM ANALYZE {table}")
    return info


# --- timing -------------------------------------------------------------------------------------
WARMUP = 3  # untimed requests before each timed series (first-touch page faults, the plan cache)


def time_get(client, url: str, iterations: int) -> tuple[list[float], dict | None, int]:
    for _ in range(WARMUP):
        client.get(url)
    samples, body, code = [], None, 0
    for _ in range(iterations):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        code = response.status_code
        if response.get("Content-Type", "").startswith("application/json"):
            body = response.json()
    return samples, body, code


def time_sql(tenant_id, statements: list[tuple[str, list]], iterations: int) -> list[float]:
    """Each iteration runs ``statements`` in one tenant-scoped transaction (as the runtime role)."""
    from django.db import connection

    from core.tenant_context import tenant_scope

    samples = []
    for i in range(-WARMUP, iterations):
        started = time.perf_counter()
        with tenant_scope(tenant_id), connection.cursor() as cur:
            for sql, params in statements:
                cur.execute(sql, params)
                cur.fetchall()
        if i >= 0:
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def deep_link(client, url: str, hops: int) -> str:
    """The ``next`` link ``hops`` pages into ``url`` (a deep keyset page)."""
    for _ in range(hops):
        nxt = client.get(url).json()["next"]
        if not nxt:
            break
        url = nxt.replace("http://testserver", "")
    return url


def measure(info: dict, iterations: int, old_iterations: int) -> list[tuple]:
    from datetime import timedelta

    from django.db import connections
    from django.test import Client
    from django.utils import timezone

    from core.tenant_context import operator_scope, tenant_scope
    from integrations.models import IntegrationLog
    from webhooks.models import WebhookLog

    api = Client(HTTP_AUTHORIZATION=f"Bearer {info['token']}")
    admin = Client()
    admin.force_login(info["user"])
    tenant, hook, integ = info["tenant"].id, info["hot_webhook"], info["hot_integration"]
    day_end = timezone.now() - timedelta(days=7)
    since, until = (day_end - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), day_end.strftime("%Y-%m-%dT%H:%M:%SZ")
    rare = EVENTS[-1]
    with tenant_scope(tenant):
        deliveries = WebhookLog.objects.filter(webhook_id=hook).order_by("-timestamp").values_list(
            "delivery_id", flat=True)
        delivery = deliveries[min(5000, deliveries.count() // 2)]  # one well inside the list

    def exact(model, **filters) -> int:
        with tenant_scope(tenant):
            return model.objects.filter(tenant_id=tenant, **filters).count()

    def exact_all(model, **filters) -> int:
        with operator_scope("bench: exact counts") as alias:
            return model.objects.using(alias).filter(**filters).count()

    wl = "SELECT * FROM webhook_logs WHERE tenant_id = %s{where} ORDER BY timestamp DESC, attempt DESC LIMIT 50"
    count = "SELECT count(*) FROM webhook_logs WHERE tenant_id = %s{where}"
    bare = "SELECT id FROM webhook_logs WHERE tenant_id = %s{where} ORDER BY timestamp DESC LIMIT 50"
    il_old = "SELECT * FROM integration_logs WHERE tenant_id = %s{where} ORDER BY started_at DESC LIMIT 50"
    il_count = "SELECT count(*) FROM integration_logs WHERE tenant_id = %s{where}"
    il_bare = "SELECT id FROM integration_logs WHERE tenant_id = %s{where} ORDER BY started_at DESC LIMIT 50"
    api_lines = [
        # (label, url, matching rows, where-clause for the baselines, its params, table)
        ("webhook: all", f"/api/webhooks/{hook}/logs", exact(WebhookLog, webhook_id=hook),
         " AND webhook_id = %s", [hook], "w"),
        ("webhook: status=failed", f"/api/webhooks/{hook}/logs?status=failed",
         exact(WebhookLog, webhook_id=hook, status="failed"), " AND webhook_id = %s AND status = %s",
         [hook, "failed"], "w"),
        ("webhook: status=pending", f"/api/webhooks/{hook}/logs?status=pending",
         exact(WebhookLog, webhook_id=hook, status="pending"), " AND webhook_id = %s AND status = %s",
         [hook, "pending"], "w"),
        (f"webhook: event={rare}", f"/api/webhooks/{hook}/logs?event={rare}",
         exact(WebhookLog, webhook_id=hook, event_type=rare), " AND webhook_id = %s AND event_type = %s",
         [hook, rare], "w"),
        ("webhook: one day", f"/api/webhooks/{hook}/logs?since={since}&until={until}",
         exact(WebhookLog, webhook_id=hook, timestamp__gte=since, timestamp__lt=until),
         " AND webhook_id = %s AND timestamp >= %s AND timestamp < %s", [hook, since, until], "w"),
        ("tenant: all", "/api/webhook-logs", exact(WebhookLog), "", [], "w"),
        ("tenant: status=failed", "/api/webhook-logs?status=failed", exact(WebhookLog, status="failed"),
         " AND status = %s", ["failed"], "w"),
        (f"tenant: event={rare}", f"/api/webhook-logs?event={rare}", exact(WebhookLog, event_type=rare),
         " AND event_type = %s", [rare], "w"),
        ("tenant: one day", f"/api/webhook-logs?since={since}&until={until}",
         exact(WebhookLog, timestamp__gte=since, timestamp__lt=until),
         " AND timestamp >= %s AND timestamp < %s", [since, until], "w"),
        ("integration: all", f"/api/integrations/{integ}/logs", exact(IntegrationLog, integration_id=integ),
         " AND integration_id = %s", [integ], "i"),
        ("integration: status=failed", f"/api/integrations/{integ}/logs?status=failed",
         exact(IntegrationLog, integration_id=integ, status="failed"), " AND integration_id = %s AND status = %s",
         [integ, "failed"], "i"),
        ("integration: action=export", f"/api/integrations/{integ}/logs?action=export",
         exact(IntegrationLog, integration_id=integ, action="export"), " AND integration_id = %s AND action = %s",
         [integ, "export"], "i"),
    ]
    out = []
    for label, url, matching, where, params, table in api_lines:
        samples, body, code = time_get(api, url, iterations)
        assert code == 200, (url, code, body)
        deep = deep_link(api, url, 20)
        deep_samples, _, deep_code = time_get(api, deep, iterations)
        assert deep_code == 200, (deep, deep_code)
        old_sql = (wl, count) if table == "w" else (il_old, il_count)
        bare_sql = bare if table == "w" else il_bare
        args = [tenant, *params]
        old = time_sql(tenant, [(old_sql[1].format(where=where), args), (old_sql[0].format(where=where), args)],
                       old_iterations)
        bare_samples = time_sql(tenant, [(bare_sql.format(where=where), args)], iterations)
        out.append(("API", label, matching, body["count"], _ms(samples), _ms(deep_samples), _ms(old), _ms(bare_samples)))
        print(f"  {label}: p95 {out[-1][4][1]:.1f} ms", flush=True)

    admin_lines = [
        ("admin webhook logs", "/admin/webhooks/webhooklog/", exact_all(WebhookLog)),
        ("admin: status=pending", "/admin/webhooks/webhooklog/?status__exact=pending",
         exact_all(WebhookLog, status="pending")),
        ("admin: direction=incoming", "/admin/webhooks/webhooklog/?direction__exact=incoming",
         exact_all(WebhookLog, direction="incoming")),
        ("admin: webhook filter", f"/admin/webhooks/webhooklog/?webhook_id={hook}", exact_all(WebhookLog, webhook_id=hook)),
        ("admin: past 7 days", "/admin/webhooks/webhooklog/?timestamp__gte="  # as the date filter's link
         + (timezone.now() - timedelta(days=7)).strftime("%Y-%m-%d+00:00:00%%2B00:00"), None),
        ("admin: search webhook id", f"/admin/webhooks/webhooklog/?q={hook}", exact_all(WebhookLog, webhook_id=hook)),
        ("admin: search delivery id", f"/admin/webhooks/webhooklog/?q={delivery}", 1),
        ("admin integration logs", "/admin/integrations/integrationlog/", exact_all(IntegrationLog)),
        ("admin: action=export", "/admin/integrations/integrationlog/?action__exact=export",
         exact_all(IntegrationLog, action="export")),
        ("admin: search integration", f"/admin/integrations/integrationlog/?q={integ}",
         exact_all(IntegrationLog, integration_id=integ)),
    ]
    old_search = ("SELECT * FROM webhook_logs WHERE UPPER(webhook_id::text) = UPPER(%s) OR UPPER(delivery_id::text)"
                  " = UPPER(%s) OR UPPER(id::text) = UPPER(%s) ORDER BY timestamp DESC, id DESC LIMIT 50")
    for label, url, matching in admin_lines:
        samples, _, code = time_get(admin, url, max(5, iterations // 3))
        assert code == 200, (url, code)
        old = None
        if label.startswith("admin: search") and "integration" not in label:
            term = str(hook if "webhook" in label else delivery)
            old_samples = []
            for _ in range(max(1, old_iterations // 3)):
                started = time.perf_counter()
                with operator_scope("bench: old search shape") as alias, connections[alias].cursor() as cur:
                    cur.execute(old_search, [term, term, term])
                    cur.fetchall()
                old_samples.append((time.perf_counter() - started) * 1000)
            old = _ms(old_samples)
        out.append(("admin", label, matching, None, _ms(samples), None, old, None))
        print(f"  {label}: p95 {out[-1][4][1]:.1f} ms", flush=True)
    return out


def report(rows: int, lines: list[tuple]) -> None:
    def fmt(pair):
        return "—" if pair is None else f"{pair[0]:.1f} / {pair[1]:.1f}"

    print(f"\nwebhook_logs {rows:,} rows, integration_logs {rows // 10:,} rows; ms, p50 / p95")
    print("| list | matching rows | `count` | first page | page 21 (cursor) | old shape (COUNT + page) | bare indexed SELECT |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, label, matching, count, first, deep, old, bare in lines:
        matching_text = "—" if matching is None else f"{matching:,}"
        count_text = "—" if count is None else f"{count:,}"
        print(f"| {kind}: {label} | {matching_text} | {count_text} | {fmt(first)} | {fmt(deep)} | {fmt(old)} | {fmt(bare)} |")


def kept_database_info() -> dict:
    """The hot tenant, webhook and integration of a database seeded by an earlier ``--keep`` run."""
    from core.tenant_context import tenant_scope
    from integrations.models import Integration
    from tenancy.services import tenant_provision
    from webhooks.models import OutgoingWebhook

    hot = tenant_provision(name="Bench Logs", email="bench-logs@example.com", staff=True)
    with tenant_scope(hot.tenant.id):
        hook = OutgoingWebhook.objects.filter(tenant=hot.tenant).order_by("name").first()
        integ = Integration.objects.get(tenant=hot.tenant, provider="google_calendar")
    return {"token": hot.token, "tenant": hot.tenant, "user": hot.user, "hot_webhook": hook.pk,
            "hot_integration": integ.pk}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--database", default="architect_studio_bench_logs")
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--old-iterations", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the database after the run")
    parser.add_argument("--reuse", action="store_true", help="use the kept database as it is (no create, no seed)")
    args = parser.parse_args()

    mode = detect_mode()
    if mode.embedded_db or not mode.database_admin_url:
        print("bench/logs.py needs PostgreSQL and the owner's DATABASE_ADMIN_URL (or the local defaults).")
        return 2
    urls = {"DATABASE_URL": _with_db(mode.database_url, args.database),
            "DATABASE_ADMIN_URL": _with_db(mode.database_admin_url, args.database),
            "DATABASE_OPERATOR_URL": _with_db(mode.database_operator_url, args.database)}
    owner_url = urls["DATABASE_ADMIN_URL"]
    os.environ.update(urls)
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")  # nothing is enqueued; keep off the dev broker
    try:
        if not args.reuse:
            create_database(mode.database_admin_url, args.database)
            subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO,
                           env={**os.environ}, check=True)
        import logging

        import django

        django.setup()
        logging.disable(logging.INFO)  # one request log line per timed request would be measured too
        if args.reuse:
            info = kept_database_info()
        else:
            info = load(owner_url, urls["DATABASE_OPERATOR_URL"], args.rows)
        lines = measure(info, args.iterations, args.old_iterations)
        report(args.rows, lines)
    finally:
        if not args.keep:
            from django.db import connections

            for conn in connections.all(initialized_only=True):
                conn.close()
                if hasattr(conn, "close_pool"):
                    conn.close_pool()  # the pooled connections of the runtime and operator roles
            drop_database(mode.database_admin_url, args.database)
            print(f"dropped database {args.database}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
