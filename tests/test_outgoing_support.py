"""Shared helpers for the outgoing-webhook tests (no tests here): a real local HTTP
receiver, and a fresh tenant with a meeting and a meeting.created webhook."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.utils import timezone

from core.tenant_context import tenant_scope
from entities.services import entity_create
from tests.factories import make_persona
from webhooks.models import OutgoingWebhook
from webhooks.outgoing import services


def fresh_persona(prefix: str = "Alice Studio"):
    """A fresh tenant per test: transactional tests do not flush between tests, so names must not collide."""
    tag = uuid.uuid4().hex[:8]
    return make_persona(f"{prefix} {tag}", f"{prefix.split()[0].lower()}-{tag}@example.com")


def create_meeting(persona, title: str = "Site visit"):
    start = timezone.now() + dt.timedelta(days=2)
    with tenant_scope(persona.tenant.id):
        return entity_create(
            tenant=persona.tenant,
            entity_type="meeting",
            data={"title": title, "start_time": start.isoformat(), "end_time": (start + dt.timedelta(hours=1)).isoformat()},
        )


def create_outgoing_webhook(persona, url: str, **extra) -> OutgoingWebhook:
    """A webhook named CRM on meeting.created (``extra`` overrides any field)."""
    data = {"name": "CRM", "url": url, "triggers": [{"entityType": "meeting", "events": ["created"]}], **extra}
    with tenant_scope(persona.tenant.id):
        return services.outgoing_webhook_create(tenant=persona.tenant, data=data)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when the request arrived


@dataclass
class Plan:
    status: int = 200
    delay: float = 0.0
    body: bytes = b'{"ok": true}'
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    """An http.server on 127.0.0.1 that records every request and answers from a plan.

    ``plans`` are consumed one per request (then ``default``), so a test can say
    "fail twice with 500, then succeed".
    """

    def __init__(self, plans: list[Plan] | None = None, default: Plan | None = None) -> None:
        self.plans = list(plans or [])
        self.default = default or Plan()
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Status line, headers and body go out in separate writes; without
            # TCP_NODELAY each would wait ~40 ms on a kept-alive connection.
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver._cond:
                    receiver.requests.append(
                        Received(self.command, self.path, dict(self.headers.items()), body, time.time())
                    )
                    plan = receiver.plans.pop(0) if receiver.plans else receiver.default
                    receiver._cond.notify_all()
                if plan.delay:
                    time.sleep(plan.delay)
                try:
                    self.send_response(plan.status)
                    self.send_header("Content-Type", "application/json")
                    for k, v in plan.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(plan.body)))
                    self.end_headers()
                    self.wfile.write(plan.body)
                except OSError:
                    pass  # the client went away (timeout or a killed worker)

            do_POST = do_PUT = do_PATCH = _handle

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} requests, got {len(self.requests)} within {timeout}s")
                self._cond.wait(remaining)
            return list(self.requests)
