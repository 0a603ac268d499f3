#!/usr/bin/env python
"""Benchmark of the public incoming-webhook endpoint against two same-run baselines.

What it does (issue 4, item 8):

1. provisions a "Bench Studio" tenant and an incoming webhook (hmac scheme, no
   actions) in the configured database;
2. for each serving setup (default: the Procfile's ``uvicorn --workers 2``,
   and gunicorn 2 workers × 4 threads), starts the server itself on loopback
   with ``DJANGO_SETTINGS_MODULE=bench.settings`` (real URLs + baselines);
3. runs wrk (LuaJIT script, ``--latency``) with the same connections and
   duration against three targets, one after the other:
   * ``webhook``  - ``POST /api/webhooks/tenant/{t}/{w}``, each request a
     distinct JSON body signed with the webhook's secret (pre-signed pool);
   * ``bare``     - a Django view answering 202 without touching the database;
   * ``minimal``  - a view that checks the HMAC and inserts one row;
   * ``webhook+id`` - the webhook endpoint again, every request with a new
     ``X-Request-Id`` delivery id (claimed in the dedupe table, in one
     transaction with the log row), as most providers' deliveries are;
4. prints accepted requests/s (2xx answers / duration) and latency p50/p99;
5. checks that **every 202 has its log row**: the ``logId`` of every accepted
   response is looked up in ``webhook_logs`` (zero lost is the requirement);
6. the processing line (issue 12, item 8): stores ``--process`` pending requests
   for a second webhook with one ``create_entity`` action, exactly as the
   endpoint stores them, while no worker consumes; then one worker (the
   Procfile's worker line, ``--concurrency 1``) drains them, and the bench
   prints processed/s beside the endpoint's accepted rate of the same run,
   the ratio (goal >= 1.0x), lost (rows not processed) and duplicates
   (entities created twice);
7. removes its rows and flushes its broker database.

Bounded and loopback only: the server binds 127.0.0.1, wrk runs for
``--duration`` seconds per target. Needs wrk (``apt-get install -y wrk``).

The broker is Redis database ``BENCH_REDIS_DB`` (default 13, see
bench/settings.py); set it to a database nobody else uses.

Usage: ``.venv/bin/python bench/incoming.py [--duration 10] [--connections 32]
[--setups uvicorn,gunicorn-gthread] [--process 5000]``
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from core.tenant_context import operator_scope, tenant_scope  # noqa: E402
from tenancy.services import tenant_provision  # noqa: E402
from webhooks.incoming import services  # noqa: E402
from webhooks.incoming.models import IncomingDedupe  # noqa: E402
from webhooks.models import IncomingWebhook, WebhookLog  # noqa: E402

VENV_BIN = Path(sys.executable).parent


def setups(port: int) -> dict[str, list[str]]:
    bind = f"127.0.0.1:{port}"
    return {
        # The Procfile's web line (ASGI: HTTP + /ws/events on one origin).
        "uvicorn": [str(VENV_BIN / "uvicorn"), "architect_studio.asgi:application", "--host", "127.0.0.1",
                    "--port", str(port), "--workers", "2", "--no-access-log", "--lifespan", "off"],
        # WSGI threads: HTTP only (the WebSocket would need its own ASGI process).
        "gunicorn-gthread": [str(VENV_BIN / "gunicorn"), "architect_studio.wsgi:application", "-b", bind,
                             "-w", "2", "--threads", "4", "-k", "gthread", "--log-level", "warning"],
        # gunicorn managing uvicorn workers (ASGI, so /ws/events still works).
        "gunicorn-uvicorn": [str(VENV_BIN / "gunicorn"), "architect_studio.asgi:application", "-b", bind,
                             "-w", "2", "-k", "uvicorn.workers.UvicornWorker", "--log-level", "warning"],
    }


LUA = r"""
local bodies = {BODIES}
local path = "{PATH}"
local outdir = "{OUTDIR}"
local id_header = "{IDHEADER}"
local id_prefix = "{IDPREFIX}"
local counter = 0
local i = 0
local f

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  f = io.open(outdir .. "/resp-" .. tid .. ".txt", "w")
  f:setvbuf("line")
  i = tid + 1  -- thread t sends bodies t+1, t+1+THREADS, …: no two requests share a body
end

local sent = 0

function request()
  local b = bodies[i]
  i = i + THREADS
  if i > #bodies then i = (i - 1) % #bodies + 1 end  -- past the pool: repeats (duplicates)
  local headers = {["Content-Type"] = "application/json", ["X-Webhook-Signature"] = b[2]}
  if id_header ~= "" then
    sent = sent + 1
    headers[id_header] = id_prefix .. tid .. "-" .. sent  -- a new delivery id every request
  end
  return wrk.format("POST", path, headers, b[1])
end

function response(status, headers, body)
  local id = body:match('"logId": ?"([%w%-]+)"') or "-"
  f:write(status, " ", id, "\n")
end

function done(summary, latency, requests)
  io.write(string.format("BENCH p50_us=%d p99_us=%d\n", latency:percentile(50), latency:percentile(99)))
end
"""


WRK_THREADS = 2


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for ASCII


def write_script(workdir: Path, name: str, path: str, secret: str, pool: int, id_header: str = "") -> Path:
    # Bodies are unique across scripts too (a run id in each): the endpoint dedupes a
    # repeated body signed with `hmac` (its hash is the delivery id), so a body sent
    # twice would measure the duplicate path.
    run = f"{name}-{uuid.uuid4().hex[:12]}"
    entries = []
    for n in range(pool):
        body = json.dumps({"event": "bench.ping", "run": run, "n": n, "data": {"id": f"obj_{n:06d}", "amount": n * 3,
                                                                       "note": "load test payload"}},
                          separators=(",", ":"))
        sig = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
        entries.append("{" + lua_string(body) + "," + lua_string(sig) + "}")
    outdir = workdir / name
    outdir.mkdir()
    script = workdir / f"{name}.lua"
    script.write_text(
        LUA.replace("{BODIES}", "{" + ",".join(entries) + "}").replace("{PATH}", path).replace("{OUTDIR}", str(outdir))
        .replace("{IDHEADER}", id_header).replace("THREADS", str(WRK_THREADS)).replace("{IDPREFIX}", f"{name}-{uuid.uuid4().hex[:12]}-")
    )
    return script


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/bench/bare", method="POST", data=b"")
            with urllib.request.urlopen(req, timeout=1) as response:
                if response.status == 202:
                    return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.3)
    raise RuntimeError("server did not start")


def run_wrk(port: int, script: Path, duration: int, connections: int) -> tuple[dict, str]:
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script),
           f"http://127.0.0.1:{port}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
    match = re.search(r"BENCH p50_us=(\d+) p99_us=(\d+)", out)
    stats = {"p50_ms": int(match.group(1)) / 1000, "p99_ms": int(match.group(2)) / 1000} if match else {}
    return stats, out


def read_responses(outdir: Path) -> tuple[dict[str, int], list[str]]:
    statuses: dict[str, int] = {}
    ids: list[str] = []
    for file in outdir.glob("resp-*.txt"):
        for line in file.read_text().splitlines():
            status, _, log_id = line.partition(" ")
            statuses[status] = statuses.get(status, 0) + 1
            if status in ("200", "202") and log_id != "-":
                ids.append(log_id)
    return statuses, ids


def count_rows(ids: list[str]) -> int:
    found = 0
    with operator_scope("bench: check every accepted request has its row"):
        for start in range(0, len(ids), 5000):
            found += WebhookLog.objects.filter(pk__in=ids[start : start + 5000]).count()
    return found


PROCESS_ACTION = {"type": "create_entity", "config": {
    "entityType": "client", "fieldMappings": {"name": "lead.name", "email": "lead.email"}}}


def worker_command() -> list[str]:
    """The Procfile's worker line, one process with one slot: "drained by one worker"."""
    return [str(VENV_BIN / "celery"), "-A", "architect_studio", "worker", "-Q", "celery", "--loglevel", "WARNING",
            "--pool", "prefork", "--concurrency", "1", "-E", "-n", f"bench-{uuid.uuid4().hex[:8]}@%h"]


def store_pending(tenant, webhook, count: int, run: str) -> None:
    """``count`` pending requests, each row exactly as ``incoming_receive`` stores one."""
    from core import outbound
    from webhooks.incoming.filters import arrival_verdict
    from webhooks.incoming.models import WEBHOOK_TYPE

    headers = {"Content-Type": "application/json", "X-Webhook-Signature": "0" * 64}
    rows = []
    for n in range(count):
        rows.append(WebhookLog(
            id=uuid.uuid4(), tenant_id=tenant.id, webhook_id=webhook.id, webhook_type=WEBHOOK_TYPE,
            direction="incoming", method="POST", url=f"http://127.0.0.1/api/webhooks/tenant/{tenant.id}/{webhook.id}",
            headers=outbound.redact_headers(headers),
            body={"event": "lead.created", "run": run, "lead": {"name": f"Lead {n}", "email": f"lead{n}-{run}@bench.example"}},
            status=WebhookLog.Status.PENDING, attempt=1, max_attempts=1, result=arrival_verdict(webhook, headers),
        ))
    with tenant_scope(tenant.id):
        for start in range(0, len(rows), 2000):
            WebhookLog.objects.bulk_create(rows[start : start + 2000])


def run_processing(tenant, count: int, timeout: float) -> dict:
    """Backlog of ``count`` stored requests, drained by one worker; processed/s, lost, duplicates."""
    from django.db.models import Count

    from core.kick import kick
    from entities.models import Client
    from webhooks.incoming.process import DRAIN_TASK

    run = uuid.uuid4().hex[:12]
    with tenant_scope(tenant.id):
        webhook, _secret = services.incoming_create(
            tenant=tenant, data={"name": f"bench-process-{run}", "actions": [PROCESS_ACTION]})
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(REPO)}
    # Warm-up: a few requests, so the worker's start-up and first imports are not timed.
    store_pending(tenant, webhook, 20, run + "w")
    worker = subprocess.Popen(worker_command(), cwd=REPO, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def pending() -> int:
        with tenant_scope(tenant.id):
            return WebhookLog.objects.filter(webhook_id=webhook.id, status=WebhookLog.Status.PENDING).count()

    try:
        kick(DRAIN_TASK, str(tenant.id))
        deadline = time.monotonic() + 60
        while pending() and time.monotonic() < deadline:
            time.sleep(0.2)
        if pending():
            raise RuntimeError("the worker did not start draining")
        store_pending(tenant, webhook, count, run)
        started = time.monotonic()
        kick(DRAIN_TASK, str(tenant.id))
        deadline = started + timeout
        left = count
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = pending()
        elapsed = time.monotonic() - started
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
    with tenant_scope(tenant.id):
        logs = WebhookLog.objects.filter(webhook_id=webhook.id, body__run=run)
        statuses = dict(logs.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
        clients = Client.objects.filter(tenant_id=tenant.id, email__endswith=f"-{run}@bench.example")
        created = clients.count()
        duplicates = sum(n - 1 for n in clients.values("email").annotate(n=Count("id")).filter(n__gt=1)
                         .values_list("n", flat=True))
        done = statuses.get(WebhookLog.Status.SUCCESS, 0)
    return {"requests": count, "seconds": round(elapsed, 2), "processed_per_s": round(done / max(elapsed, 1e-6), 1),
            "statuses": statuses, "lost": count - done, "entities": created, "duplicates": duplicates,
            "webhook_id": str(webhook.id)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per target (default 10)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--setups", default="uvicorn,gunicorn-gthread")
    parser.add_argument("--pool", type=int, default=60000,
                        help="distinct pre-signed bodies (more than a run sends: a repeat is a duplicate)")
    parser.add_argument("--process", type=int, default=5000,
                        help="stored requests for the processing line (0 skips it)")
    parser.add_argument("--process-timeout", type=float, default=300)
    parser.add_argument("--json", default=str(REPO / "var" / "bench-incoming.json"))
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is required: apt-get install -y wrk", file=sys.stderr)
        return 2

    provision = tenant_provision(name="Bench Studio", email="bench@example.com")
    tenant = provision.tenant
    with tenant_scope(tenant.id):
        webhook, secret = services.incoming_create(tenant=tenant, data={"name": "bench", "actions": []})
    webhook_path = f"/api/webhooks/tenant/{tenant.id}/{webhook.id}"
    print(f"# incoming webhook bench: {os.cpu_count()} CPUs, wrk -t2 -c{args.connections} "
          f"-d{args.duration}s per target, server and load generator on this machine")

    results = []
    workdir = Path(tempfile.mkdtemp(prefix="bench-incoming-"))
    try:
        for setup in [s.strip() for s in args.setups.split(",") if s.strip()]:
            port = free_port()
            env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(REPO)}
            server = subprocess.Popen(setups(port)[setup], cwd=REPO, env=env, start_new_session=True,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                wait_ready(port)
                targets = {
                    "webhook": (webhook_path, secret, ""),
                    "bare": ("/bench/bare", secret, ""),
                    "minimal": (f"/bench/minimal/{tenant.id}", settings.BENCH_BASELINE_SECRET, ""),
                    # The same endpoint, each request carrying a new delivery id
                    # (as Stripe, Standard Webhooks and most providers send): the
                    # id is claimed in the dedupe table in the same transaction.
                    "webhook+id": (webhook_path, secret, "X-Request-Id"),
                }
                # Warm every target (imports, URL resolver, pooled database connections)
                # so that none pays the server's start-up in its measured run.
                for target, (path, key, id_header) in targets.items():
                    warm = write_script(workdir, f"{setup}-{target}-warmup", path, key, 10, id_header)
                    run_wrk(port, warm, 2, args.connections)
                for target, (path, key, id_header) in targets.items():
                    script = write_script(workdir, f"{setup}-{target}", path, key, args.pool, id_header)
                    stats, raw = run_wrk(port, script, args.duration, args.connections)
                    statuses, ids = read_responses(workdir / f"{setup}-{target}")
                    accepted = sum(n for s, n in statuses.items() if s.startswith("2"))
                    row = {"setup": setup, "target": target, "accepted": accepted,
                           "accepted_per_s": round(accepted / args.duration, 1), **stats,
                           "non_2xx": sum(n for s, n in statuses.items() if not s.startswith("2")),
                           "statuses": statuses}
                    if target != "bare":
                        found = count_rows(ids)
                        row["rows_found"] = found
                        row["lost"] = accepted - found
                    results.append(row)
                    print(f"{setup:18} {target:8} {row['accepted_per_s']:9.1f} req/s  p50 {stats.get('p50_ms', 0):7.2f} ms"
                          f"  p99 {stats.get('p99_ms', 0):7.2f} ms  non-2xx {row['non_2xx']}"
                          + (f"  lost {row['lost']}" if "lost" in row else ""), flush=True)
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                try:
                    server.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
        processing = run_processing(tenant, args.process, args.process_timeout) if args.process else None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        with operator_scope("bench: remove its rows"):
            from entities.models import Client, EntityEvent

            leads = Client.objects.filter(tenant_id=tenant.id, email__endswith="@bench.example")  # the processing line's
            EntityEvent.objects.filter(tenant_id=tenant.id, entity_id__in=leads.values("id")).delete()
            leads.delete()
            WebhookLog.objects.filter(tenant_id=tenant.id).delete()
            IncomingDedupe.objects.filter(tenant_id=tenant.id).delete()
            IncomingWebhook.objects.filter(tenant_id=tenant.id, name__startswith="bench-process-").delete()
            IncomingWebhook.objects.filter(pk=webhook.pk).delete()
        if settings.MODE.redis_url:
            import redis

            redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()

    print()
    print("setup              webhook/minimal  webhook req/s  goal (>=1000 req/s, >=0.6x minimal, 0 lost)")
    ok_any = False
    for setup in dict.fromkeys(r["setup"] for r in results):
        by = {r["target"]: r for r in results if r["setup"] == setup}
        ratio = by["webhook"]["accepted_per_s"] / max(by["minimal"]["accepted_per_s"], 0.1)
        ok = by["webhook"]["accepted_per_s"] >= 1000 and ratio >= 0.6 and by["webhook"]["lost"] == 0
        ok_any = ok_any or ok
        print(f"{setup:18} {ratio:15.2f}  {by['webhook']['accepted_per_s']:13.1f}  {'met' if ok else 'not met'}")
    if processing is not None:
        accepted = max((r["accepted_per_s"] for r in results if r["target"] == "webhook"), default=0.0)
        ratio = processing["processed_per_s"] / max(accepted, 0.1)
        processing.update(endpoint_accepted_per_s=accepted, ratio=round(ratio, 2))
        ok = ratio >= 1.0 and processing["lost"] == 0 and processing["duplicates"] == 0
        print()
        print("processing (one create_entity action, one worker, --concurrency 1)  goal (>=1.0x accepted, 0 lost, 0 dup)")
        print(f"{processing['requests']} stored, drained in {processing['seconds']} s: "
              f"{processing['processed_per_s']:.1f} processed/s vs {accepted:.1f} accepted/s (best endpoint setup) "
              f"= {ratio:.2f}x  lost {processing['lost']}  duplicates {processing['duplicates']}  "
              f"{'met' if ok else 'not met'}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"cpus": os.cpu_count(), "duration_s": args.duration,
                                           "connections": args.connections, "results": results,
                                           "processing": processing}, indent=2))
    lost = sum(r.get("lost", 0) for r in results) + (processing["lost"] + processing["duplicates"] if processing else 0)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
