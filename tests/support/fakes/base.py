"""The shells the provider fakes share; each fake module keeps only its provider's semantics.

Two kinds of fake live in this folder:

- **Servers** (``FakeServer``): a real HTTP server on a free 127.0.0.1 port, in a daemon thread,
  for providers the hub reaches through ``core.outbound`` (which refuses ``responses``' mocks of
  public hosts at the socket level) or whose SDK opens its own connections. A fake subclasses it
  and implements ``handle(method, target, headers, body) -> (status, data, extra_headers)``:
  ``target`` is the raw request target (path and query), ``headers`` are lower-cased, ``data`` is
  ``None`` (no body), ``bytes`` (sent as they are) or anything JSON can encode.
- **Mocked origins** (``requests_mocked`` + ``CallLog``): ``responses`` answers every call to the
  provider's public origin with the fake's callbacks, and lets calls to this machine through.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import responses

#: Calls to this machine (the live server, other fakes) are never mocked.
LOCAL = re.compile(r"^http://(127\.0\.0\.1|localhost)")


class FakeServer:
    """Start/stop and the request shell of an HTTP fake. Subclasses set ``name`` (the thread's)
    and ``content_type`` (sent with a non-empty body; ``None``: the fake's ``extra`` headers say)."""

    name = "fake"
    content_type: str | None = "application/json"
    _server: ThreadingHTTPServer | None = None
    requests: list  # what the fake was asked (each fake's own record type)

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, dict]:
        raise NotImplementedError

    def bind(self) -> None:
        """Take a free port now (``base_url`` is known before ``start``)."""
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), {"fake": self}))
            self._server.daemon_threads = True

    def start(self):
        self.bind()
        threading.Thread(target=self._server.serve_forever, name=self.name, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def count(self, method: str | None = None, path: str = "", status: int | None = None) -> int:
        """Requests seen (``self.requests``: records with ``method``, ``path``, ``status``) of that
        method, whose path contains ``path``, answered ``status``."""
        with getattr(self, "_lock", None) or nullcontext():
            return sum(1 for r in self.requests if (method is None or r.method == method) and path in r.path
                       and (status is None or r.status == status))


def encode(data: Any) -> bytes:
    """A fake's answer as the bytes on the wire."""
    if data is None:
        return b""
    return data if isinstance(data, bytes) else json.dumps(data).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, data, extra = self.fake.handle(self.command, self.path, headers, body)
        raw = encode(data)
        self.send_response(status)
        if raw and self.fake.content_type:
            self.send_header("Content-Type", self.fake.content_type)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if raw:
            self.wfile.write(raw)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


@contextmanager
def requests_mocked(*routes: tuple[str, str | re.Pattern, Callable]) -> Iterator[responses.RequestsMock]:
    """``responses`` answering each ``(method, url or pattern, callback)``; this machine passes through.
    Yields the mock (for fixed answers a fake adds with ``mock.add``)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(LOCAL)
        for method, url, callback in routes:
            mock.add_callback(method, url, callback=callback)
        yield mock


def under(origin: str, tail: str = "/.*") -> re.Pattern:
    """Every URL below ``origin`` (``tail``: the path pattern after it)."""
    return re.compile(re.escape(origin) + tail)


@dataclass
class Call:
    """One request a mocked-origin fake answered."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int


class CallLog:
    """Test controls over a mocked-origin fake's ``calls`` (objects with ``method``, ``path``,
    ``status``) and ``failures`` (``(status, headers)`` answered before anything else)."""

    calls: list
    failures: list

    def fail_next(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        self.failures += [(status, headers or {})] * times

    def count(self, method: str, path_part: str = "", status: int | None = None) -> int:
        return sum(1 for c in self.calls if c.method == method and path_part in c.path
                   and (status is None or c.status == status))


@contextmanager
def running(fake):
    """A started fake, stopped afterwards (the body of each server fake's fixture)."""
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
