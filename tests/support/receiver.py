"""The one local HTTP receiver of the tests: a real ``http.server`` on 127.0.0.1 that
records every request and answers from a plan.

* ``plans`` are consumed one per request (then ``routes`` by path, then ``default``), so
  a test can say "fail twice with 500, then succeed";
* ``routes`` answer by path (the query string left out): ``{"/redirect": Plan(302, ...)}``;
* ``tls`` (an ``ssl.SSLContext``, server side) serves HTTPS instead; a client that
  refuses the certificate just ends its connection.

Use it as a context manager (``with Receiver() as rx: ... rx.wait_for(2)``). Stdlib
only, so a subprocess can import it too (tests/architect_studio/test_embedded.py).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when the request arrived
    raw_headers: list[tuple[str, str]] = field(default_factory=list)  # as sent, repeats kept
    client_port: int = 0  # the client's TCP port: one per connection (keep-alive tests)

    def header(self, name: str) -> str | None:
        """The one value of header ``name`` (any case); fails if it was sent more than once."""
        values = [v for k, v in self.raw_headers if k.lower() == name.lower()]
        assert len(values) <= 1, f"header {name} sent {len(values)} times"
        return values[0] if values else None


@dataclass
class Plan:
    status: int = 200
    delay: float = 0.0
    body: bytes = b'{"ok": true}'
    headers: dict[str, str] = field(default_factory=dict)  # a Content-Type here replaces application/json


class Receiver:
    """An http.server on 127.0.0.1 that records every request and answers from a plan."""

    def __init__(self, plans: list[Plan] | None = None, default: Plan | None = None, *,
                 routes: dict[str, Plan] | None = None, path: str = "/hook",
                 tls: ssl.SSLContext | None = None) -> None:
        self.plans = list(plans or [])
        self.routes = dict(routes or {})
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
                    receiver.requests.append(Received(
                        self.command, self.path, dict(self.headers.items()), body, time.time(),
                        list(self.headers.items()), self.client_address[1],
                    ))
                    plan = receiver._plan_for(self.path)
                    receiver._cond.notify_all()
                if plan.delay:
                    time.sleep(plan.delay)
                try:
                    self.send_response(plan.status)
                    if not any(k.lower() == "content-type" for k in plan.headers):
                        self.send_header("Content-Type", "application/json")
                    for k, v in plan.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(plan.body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(plan.body)
                except OSError:
                    pass  # the client went away (timeout or a killed worker)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.port = self.server.server_address[1]
        if tls is not None:
            self._serve_tls(tls)
        scheme = "https" if tls is not None else "http"
        self.base = f"{scheme}://127.0.0.1:{self.port}"
        self.url = f"{self.base}{path}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def _plan_for(self, path: str) -> Plan:
        if self.plans:
            return self.plans.pop(0)
        return self.routes.get(path.split("?", 1)[0], self.default)

    def _serve_tls(self, context: ssl.SSLContext) -> None:
        server = self.server
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        plain_get_request = server.get_request

        def get_request() -> tuple[socket.socket, object]:
            conn, addr = plain_get_request()
            conn.settimeout(5)
            try:
                conn.do_handshake()  # type: ignore[attr-defined]
            except (ssl.SSLError, OSError):
                pass  # the client refused our certificate; the request handler will just see EOF
            return conn, addr

        server.get_request = get_request  # type: ignore[method-assign]

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
