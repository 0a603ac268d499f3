"""Outgoing webhooks benchmark: N entity events fanned out to M local endpoints.

    DJANGO_SETTINGS_MODULE=architect_studio.settings.dev .venv/bin/python bench/outgoing.py \
        [--events 250] [--endpoints 2] [--rate 50] [--burst 600] [--concurrency 8]

What it does (bounded in count and time, ~1 minute):

1. creates its own tenant and M signed outgoing webhooks (meeting.created);
2. starts M local HTTP receivers (in a process of their own) and ONE Celery worker process
   (`celery worker -P threads`) on a private Redis database;
3. paced run: ``--events`` meetings created at ``--rate`` events/s through
   ``entities.services.entity_create`` (the real path: outbox row → on-commit
   dispatch → worker → subscriber → delivery task → signed POST); latency is
   event commit → receipt at the receiver;
4. backlog run: the worker stops consuming, ``--burst`` events are committed
   (outbox rows and wake-ups wait in Postgres and Redis), the worker resumes;
   deliveries/s = deliveries / (resume → last receipt). Creating the events
   with the worker running would measure this script's own event creation
   (about 85 events/s here, on the same two cores), not the hub;
5. baseline: a plain ``requests`` loop in this process posting the same signed
   bodies to the same receivers, one after the other.

It prints deliveries/s and latency p50/p95/p99 for each, side by side, the worker's CPU
time per delivery (steadier than deliveries/s on a shared machine), and, once the
worker has stopped, how every expected delivery ended according to the database
(delivered; failed with its error and the next attempt's due time; pending; missing)
with the receivers' duplicates: a shortfall such as "1199/1200" says where the
delivery is. Exit status 1 when a paced or backlog delivery is not recorded delivered.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "architect_studio.settings.dev")
os.environ["WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = "1"  # the receivers are on 127.0.0.1
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")  # a private broker DB: no dev worker takes our tasks


class Receiver(ThreadingHTTPServer):
    """A receiver that accepts a burst of new connections as a production server would.

    socketserver listens with a backlog of 5. The hub keeps 8 keep-alive
    connections per receiver and opens a fresh one for every request beyond
    them, so a backlog run opens dozens at once; on a busy machine this
    process's accept loop falls behind, the kernel drops the handshakes
    (TcpExt ListenOverflows) and the hub's request ends in "connection reset
    by peer" after ~1 s: an attempt recorded failed, retried 60 s later, after
    the run's wait (1199/1200). Production servers listen with hundreds
    (nginx 511, gunicorn 2048); the kernel caps it at net.core.somaxconn.
    """

    request_queue_size = 1024
    daemon_threads = True


def _serve(n: int, out, ready) -> None:
    """The receivers' own process: M HTTP servers; every request's (entity id, index, arrival time) goes to ``out``."""
    ports = []
    for index in range(n):

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            idx = index

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.time()
                try:
                    key = (json.loads(body).get("id", ""), self.idx)
                except ValueError:
                    key = ("?", self.idx)
                out.put((key, now))
                # One write for status, headers and body: two small writes on a
                # keep-alive connection stall ~40 ms each on Nagle + delayed ACK.
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")

            def log_message(self, *args) -> None:
                pass

        server = Receiver(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        ports.append(server.server_address[1])
    ready.put(ports)
    threading.Event().wait()


class Sink:
    """Receivers in a process of their own, as real receivers would be (not competing
    for this script's interpreter lock); they report (entity id → receipt time)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: dict[tuple[str, int], float] = {}
        self.hits: dict[tuple[str, int], int] = {}  # requests per (entity id, receiver): > 1 is a duplicate
        self.count = 0

    def start(self, n: int) -> list[str]:
        ctx = multiprocessing.get_context("fork")
        self.queue = ctx.SimpleQueue()
        ready = ctx.SimpleQueue()
        self.process = ctx.Process(target=_serve, args=(n, self.queue, ready), daemon=True)
        self.process.start()
        ports = ready.get()
        threading.Thread(target=self._collect, daemon=True).start()
        return [f"http://127.0.0.1:{port}/hook/{index}" for index, port in enumerate(ports)]

    def _collect(self) -> None:
        while True:
            key, at = self.queue.get()
            with self.lock:
                self.received.setdefault(key, at)
                self.hits[key] = self.hits.get(key, 0) + 1
                self.count += 1

    def stop(self) -> None:
        self.process.terminate()


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def fmt(values_ms: list[float]) -> str:
    return f"p50 {pct(values_ms, 50):7.1f} ms  p95 {pct(values_ms, 95):7.1f} ms  p99 {pct(values_ms, 99):7.1f} ms"


def listen_overflows() -> int | None:
    """The kernel's count of connections dropped because a listening socket's accept queue was full
    (TcpExt ListenOverflows, this network namespace: every process, not only this benchmark); None off Linux."""
    try:
        with open("/proc/net/netstat") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            row = dict(zip(names.split()[1:], values.split()[1:], strict=False))
            return int(row["ListenOverflows"]) if "ListenOverflows" in row else None
    return None


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, every thread) the process has used so far; None off Linux."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def delivery_report(*, tenant_id, phases: dict[str, dict[str, float]], webhook_index: dict[str, int], sink: Sink,
                    waited: dict[str, float]) -> tuple[list[str], int]:
    """What the database says about every expected delivery, once the worker has stopped.

    For each run: deliveries recorded delivered, waiting for a retry (with the
    next attempt's time and the error), failed for good, still pending (claimed
    or not) and missing (no attempt row: the hub never fanned the event out);
    and, from the receivers' side, duplicates and receipts after the wait ended.
    Returns the lines and how many deliveries of the paced and backlog runs are
    not recorded delivered.
    """
    from collections import Counter

    from core.tenant_context import tenant_scope
    from webhooks.models import WebhookLog

    with tenant_scope(tenant_id):
        rows = list(WebhookLog.objects.filter(tenant_id=tenant_id).values(
            "delivery_id", "attempt", "status", "claim_count", "error_message", "next_retry_at", "retried_at",
            "completed_at", "webhook_id", "body_text"))
    latest: dict[tuple[str, int], dict] = {}  # (entity id, receiver index) -> its latest attempt
    for row in rows:
        try:
            entity = str(json.loads(row["body_text"] or "{}").get("id", "?"))
        except ValueError:
            entity = "?"
        key = (entity, webhook_index.get(str(row["webhook_id"]), -1))
        if key not in latest or row["attempt"] > latest[key]["attempt"]:
            latest[key] = row
    lines, short = [], 0
    with sink.lock:
        received, hits = dict(sink.received), dict(sink.hits)
    endpoints = len(set(webhook_index.values()))
    for phase, commits in phases.items():
        expected = [(eid, i) for eid in commits for i in range(endpoints)]
        states: Counter = Counter()
        details: list[str] = []
        for key in expected:
            row = latest.get(key)
            if row is None:
                states["missing (no attempt row)"] += 1
                details.append(f"    {key[0]} -> receiver {key[1]}: no attempt row at all")
            elif row["status"] == WebhookLog.Status.SUCCESS:
                states["delivered"] += 1
            elif row["status"] == WebhookLog.Status.FAILED and row["next_retry_at"] and row["retried_at"] is None:
                states["failed, retry pending"] += 1
                details.append(f"    {key[0]} -> receiver {key[1]}: attempt {row['attempt']} failed at "
                               f"{row['completed_at']:%H:%M:%S.%f} ({row['error_message']}); next attempt due "
                               f"{row['next_retry_at']:%H:%M:%S}, after this run's wait ended")
            elif row["status"] == WebhookLog.Status.FAILED:
                states["failed for good"] += 1
                details.append(f"    {key[0]} -> receiver {key[1]}: attempt {row['attempt']} failed, no retry left "
                               f"({row['error_message']})")
            elif row["status"] == WebhookLog.Status.PENDING:
                what = "pending, claimed (in flight or lease running)" if row["claim_count"] else "pending, never claimed"
                states[what] += 1
                details.append(f"    {key[0]} -> receiver {key[1]}: attempt {row['attempt']} {what}; "
                               f"claim {row['claim_count']}, due/lease {row['next_retry_at']:%H:%M:%S}")
            else:
                states[str(row["status"])] += 1
                details.append(f"    {key[0]} -> receiver {key[1]}: attempt {row['attempt']} {row['status']} "
                               f"({row['error_message']})")
        duplicates = sum(hits.get(k, 0) - 1 for k in expected if hits.get(k, 0) > 1)
        late = sum(1 for k in expected if received.get(k, 0) > waited.get(phase, float("inf")))
        if phase != "warm-up":
            short += len(expected) - states["delivered"]
        lines.append(f"  {phase:8} {len(expected)} deliveries: "
                     + ", ".join(f"{n} {state}" for state, n in states.most_common())
                     + f"; receivers: {sum(1 for k in expected if k in received)} received, {duplicates} duplicate requests"
                     + (f", {late} after the wait ended" if late else ""))
        lines.extend(details[:20])
        if len(details) > 20:
            lines.append(f"    ... and {len(details) - 20} more")
    return lines, short


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=250, help="paced events (default 250)")
    parser.add_argument("--endpoints", type=int, default=2, help="receivers / webhooks (default 2)")
    parser.add_argument("--rate", type=float, default=50.0, help="paced events per second (default 50)")
    parser.add_argument("--burst", type=int, default=600, help="events for the backlog (throughput) run (default 600)")
    parser.add_argument("--concurrency", type=int, default=8, help="threads (or processes) of the single worker")
    parser.add_argument("--pool", choices=["threads", "prefork"], default="threads",
                        help="celery pool of the single worker (threads: one process; prefork: one worker, N children)")
    parser.add_argument("--timeout", type=float, default=60.0, help="max seconds to wait per run")
    args = parser.parse_args()
    args.events, args.burst, args.endpoints = min(args.events, 5000), min(args.burst, 5000), min(args.endpoints, 20)

    import django

    django.setup()
    import requests
    from django.conf import settings
    from django.utils import timezone

    from core.tenant_context import tenant_scope
    from entities.services import entity_create
    from tenancy.services import tenant_provision
    from webhooks.outgoing import services
    from webhooks.signing import hex_hmac_sha256

    print(f"mode: {settings.MODE.describe()}")
    if settings.MODE.embedded_broker or settings.MODE.embedded_db:
        print("this benchmark needs PostgreSQL and Redis (the embedded mode runs tasks inline)")
        return 2

    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    sink = Sink()
    urls = sink.start(args.endpoints)
    tag = uuid.uuid4().hex[:8]
    tenant = tenant_provision(name=f"Bench {tag}", email=f"bench-{tag}@example.com").tenant
    secret = "bench-secret-" + tag
    webhook_index: dict[str, int] = {}  # webhook id -> its receiver
    with tenant_scope(tenant.id):
        for i, url in enumerate(urls):
            webhook_index[str(services.outgoing_webhook_create(
                tenant=tenant,
                data={"name": f"bench {i}", "url": url, "triggers": [{"entityType": "meeting", "events": ["created"]}],
                      "sign_requests": True, "signature_secret": secret},
            ).id)] = i

    overflows_before = listen_overflows()
    phases: dict[str, dict[str, float]] = {}
    waited: dict[str, float] = {}  # run -> when its wait ended
    env = {**os.environ, "OUTGOING_WEBHOOK_ETA_MAX_SECONDS": "900"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "architect_studio", "worker", "-P", args.pool, "-c", str(args.concurrency),
         "-l", "WARNING", "--without-mingle", "--without-gossip", "-n", f"bench-{tag}@%h"],
        cwd=REPO, env=env, start_new_session=True,
    )
    try:
        from architect_studio.celery import app

        deadline = time.monotonic() + 30
        while not app.control.ping(timeout=0.5, destination=[f"bench-{tag}@{os.uname().nodename}"]):
            if time.monotonic() > deadline or worker.poll() is not None:
                print("worker did not start")
                return 1
        start = timezone.now()

        def create(n: int, rate: float | None) -> dict[str, float]:
            commits: dict[str, float] = {}
            t0 = time.monotonic()
            for i in range(n):
                if rate:
                    delay = t0 + i / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                with tenant_scope(tenant.id):
                    meeting = entity_create(
                        tenant=tenant, entity_type="meeting",
                        data={"title": f"bench {i} «שלום»", "start_time": start.isoformat(), "end_time": start.isoformat()},
                    )
                commits[str(meeting.id)] = time.time()  # after commit: the dispatch happens on commit
            return commits

        def wait(commits: dict[str, float]) -> tuple[list[float], float, float]:
            expected = {(eid, i) for eid in commits for i in range(args.endpoints)}
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                with sink.lock:
                    got = expected & sink.received.keys()
                if len(got) == len(expected):
                    break
                time.sleep(0.05)
            with sink.lock:
                lat = [(sink.received[k] - commits[k[0]]) * 1000 for k in expected if k in sink.received]
                stamps = [sink.received[k] for k in expected if k in sink.received]
            last, first = max(stamps, default=time.time()), min(stamps, default=time.time())
            return lat, last, first

        # warm-up (connections, imports)
        phases["warm-up"] = create(5, None)
        wait(phases["warm-up"])
        waited["warm-up"] = time.time()

        cpu: dict[str, float | None] = {"paced": cpu_seconds(worker.pid)}
        paced = phases["paced"] = create(args.events, args.rate)
        paced_lat, _, _ = wait(paced)
        waited["paced"] = time.time()
        cpu["paced"] = _delta(cpu["paced"], cpu_seconds(worker.pid))
        node = f"bench-{tag}@{os.uname().nodename}"
        app.control.cancel_consumer("celery", destination=[node], reply=True, timeout=5)
        burst = phases["backlog"] = create(args.burst, None)
        burst_start = time.time()
        cpu["backlog"] = cpu_seconds(worker.pid)
        app.control.add_consumer("celery", destination=[node], reply=True, timeout=5)
        burst_lat, burst_last, burst_first = wait(burst)
        waited["backlog"] = time.time()
        cpu["backlog"] = _delta(cpu["backlog"], cpu_seconds(worker.pid))
        burst_rate = len(burst_lat) / max(burst_last - burst_start, 1e-9)
        first_ms = (burst_first - burst_start) * 1000  # the worker resuming, and the first batch
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
    overflows_after = listen_overflows()
    # The worker has stopped: the rows say how each delivery ended (or why it did not).
    report, short = delivery_report(tenant_id=tenant.id, phases=phases, webhook_index=webhook_index, sink=sink,
                                    waited=waited)

    # Baseline: one process, a plain requests loop, the same signed bodies to the same receivers.
    bodies = [
        json.dumps({"id": str(uuid.uuid4()), "title": f"bench {i} «שלום»"}, ensure_ascii=False, separators=(",", ":")).encode()
        for i in range(args.burst)
    ]
    session = requests.Session()
    base_lat: list[float] = []
    t0 = time.perf_counter()
    for body in bodies:
        for url in urls:
            s = time.perf_counter()
            r = session.post(url, data=body, timeout=10, headers={
                "Content-Type": "application/json", "X-Webhook-Event": "meeting.created",
                "X-Webhook-Delivery": str(uuid.uuid4()), "X-Webhook-Signature": hex_hmac_sha256(secret, body)})
            r.raise_for_status()
            base_lat.append((time.perf_counter() - s) * 1000)
    base_rate = len(base_lat) / (time.perf_counter() - t0)
    sink.stop()

    expected_paced = args.events * args.endpoints
    print(f"\nOutgoing webhooks: {args.endpoints} endpoints, 1 worker ({args.pool} x{args.concurrency}), "
          f"{os.cpu_count()} CPUs")
    print(f"paced   {args.events} events @ {args.rate:g}/s: delivered {len(paced_lat)}/{expected_paced}; "
          f"event commit -> receipt {fmt(paced_lat)}")
    print(f"backlog {args.burst} events queued, then the worker resumed: delivered {len(burst_lat)}/{args.burst * args.endpoints}; "
          f"{burst_rate:7.1f} deliveries/s (first delivery {first_ms:.0f} ms after the worker was told to resume)")
    for run, n in (("paced", len(paced_lat)), ("backlog", len(burst_lat))):
        if cpu.get(run) is not None and n:
            print(f"worker  CPU in the {run} run: {cpu[run]:.2f} s, {1000 * cpu[run] / n:.2f} ms per delivery "
                  "(steadier than deliveries/s on a shared machine)")
    print(f"baseline plain requests loop ({len(base_lat)} posts): {base_rate:7.1f} deliveries/s; per request {fmt(base_lat)}")
    print(f"ratio   hub/baseline throughput: {burst_rate / base_rate:.2f}x;  paced p99 {pct(paced_lat, 99):.1f} ms "
          f"(goal: >= 0.5x and p99 < 250 ms at 50 events/s)")
    print("deliveries in the database once the worker stopped:")
    print("\n".join(report))
    if overflows_before is not None and overflows_after is not None:
        print(f"kernel: {overflows_after - overflows_before} connections dropped on full accept queues during the hub runs "
              "(TcpExt ListenOverflows: every process on this host, not only the receivers)")
    return 0 if len(paced_lat) == expected_paced and not short else 1


if __name__ == "__main__":
    raise SystemExit(main())
