"""Wall-clock deadlines for outbound HTTP, enforced by shutting the socket down.

Why not timeouts: ``requests``/urllib3 timeouts bound each *socket operation*
(one ``connect``, one ``recv``). A receiver that sends one byte per second
satisfies every one of them and holds the calling thread for as long as it
likes — a worker thread per hostile receiver. Checking the clock between
reads does not help either: a single ``read(8192)`` blocks until 8192 bytes
have arrived, however slowly.

So a request runs inside :func:`deadline` (a thread-local scope). Our urllib3
connection classes register every socket they open or reuse with the scope,
and one watchdog thread per process calls ``shutdown(SHUT_RDWR)`` on the
sockets of a scope whose time is up: the blocked ``recv``/``send``/TLS
handshake returns at once, the caller sees a broken connection and reports a
timeout (``scope.expired``). DNS is bounded the same way from the outside:
``getaddrinfo`` cannot be interrupted, so it runs on a small resolver pool and
the caller stops waiting at the deadline (:func:`resolve_bounded`).

The watchdog shuts down a *duplicate* of the socket's descriptor, closed when
the scope ends: shutdown acts on the socket, not the descriptor, and owning
the duplicate means a descriptor number reused by another connection after
ours closed can never be hit.

Used by :mod:`core.outbound` (webhook sends, test sends, forwards) and,
through :class:`DeadlineAdapter`, by every ``requests`` session of the hub
(provider API calls, OAuth token calls). No Django imports.
"""

from __future__ import annotations

import contextlib
import heapq
import ipaddress
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

__all__ = [
    "DEFAULT_DNS_TIMEOUT",
    "Deadline",
    "DeadlineAdapter",
    "DeadlineHTTPConnectionPool",
    "DeadlineHTTPSConnectionPool",
    "DnsTimeout",
    "ResponseTooLarge",
    "current",
    "deadline",
    "read_capped",
    "resolve_bounded",
]

#: A DNS lookup made outside any deadline scope still gives up after this long.
DEFAULT_DNS_TIMEOUT = 10.0
#: Lookups that may hang at once; further ones wait (their own deadline still applies).
_RESOLVER_THREADS = 16


class DnsTimeout(OSError):
    """The resolver did not answer before the deadline."""


class ResponseTooLarge(requests.RequestException):
    """The response body passed the reader's cap; the rest was never read."""


class Deadline:
    """One request's end time and the sockets to shut down when it passes."""

    __slots__ = ("at", "seconds", "expired", "_lock", "_socks", "_done")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._done = False

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def register(self, sock: socket.socket) -> None:
        """Shut ``sock`` down if this deadline passes while the scope is open."""
        try:
            dup = socket.fromfd(sock.fileno(), sock.family, sock.type)
        except (OSError, ValueError):
            return  # already closed: nothing left to interrupt
        with self._lock:
            if not self._done and not self.expired:
                self._socks.append(dup)
                return
            fire = self.expired and not self._done
        if fire:
            _shutdown(dup)
        dup.close()

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for dup in self._socks:
                _shutdown(dup)

    def _close(self) -> None:
        with self._lock:
            self._done = True
            socks, self._socks = self._socks, []
        for dup in socks:
            dup.close()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by its owner


class _Watchdog:
    """One thread per process firing deadlines in time order."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._seq = itertools.count()
        self._pid: int | None = None

    def add(self, d: Deadline) -> None:
        with self._cond:
            if self._pid != os.getpid():  # first use, or a forked child: the parent's thread is not here
                self._pid = os.getpid()
                self._heap = []
                threading.Thread(target=self._run, name="outbound-deadline", daemon=True).start()
            heapq.heappush(self._heap, (d.at, next(self._seq), d))
            if self._heap[0][2] is d:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                at, _seq, d = self._heap[0]
                delay = at - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
            d._fire()


_watchdog = _Watchdog()
_local = threading.local()


def current() -> Deadline | None:
    """The innermost open deadline of this thread, if any."""
    return getattr(_local, "deadline", None)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[Deadline]:
    """Run a block of outbound I/O that must end within ``seconds`` (wall clock).

    Nested scopes never extend an outer one. On exit the scope's sockets are
    released from the watchdog (a pooled keep-alive connection is safe to reuse).
    """
    outer = current()
    if outer is not None:
        seconds = max(0.0, min(seconds, outer.remaining()))
    d = Deadline(seconds)
    _local.deadline = d
    _watchdog.add(d)
    try:
        yield d
    finally:
        _local.deadline = outer
        d._close()


# --------------------------------------------------------------------------- DNS

_resolver_lock = threading.Lock()
_resolver: tuple[int, ThreadPoolExecutor] | None = None


def _resolver_pool() -> ThreadPoolExecutor:
    global _resolver
    with _resolver_lock:
        if _resolver is None or _resolver[0] != os.getpid():
            _resolver = (os.getpid(), ThreadPoolExecutor(_RESOLVER_THREADS, thread_name_prefix="outbound-dns"))
        return _resolver[1]


def resolve_bounded(host: str, port: int, *, timeout: float | None = None) -> list[tuple]:
    """``socket.getaddrinfo`` (TCP) that gives up at ``timeout``, else the current
    deadline, else :data:`DEFAULT_DNS_TIMEOUT`. Raises ``socket.gaierror`` as
    getaddrinfo does, or :class:`DnsTimeout`."""
    try:  # an address needs no lookup (and no thread hop): getaddrinfo answers it at once
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP,
                                  flags=socket.AI_NUMERICHOST)
    if timeout is None:
        d = current()
        timeout = d.remaining() if d is not None else DEFAULT_DNS_TIMEOUT
    if timeout <= 0:
        raise DnsTimeout(f"DNS lookup of {host} timed out")
    future = _resolver_pool().submit(
        socket.getaddrinfo, host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    try:
        return future.result(timeout)
    except FutureTimeout:
        future.cancel()  # never started: drop it; started: its thread finishes on its own
        raise DnsTimeout(f"DNS lookup of {host} timed out") from None


# --------------------------------------------------------------------------- urllib3 connections


def _connect_timeout(conn_timeout: Any, remaining: float) -> float:
    if isinstance(conn_timeout, int | float):
        return max(0.001, min(float(conn_timeout), remaining))
    return max(0.001, remaining)


class _DeadlineConnectionMixin:
    """Registers the connection's socket with the open deadline; resolves within it."""

    def _new_conn(self) -> socket.socket:
        d = current()
        if d is None:
            return super()._new_conn()  # type: ignore[misc]
        if d.remaining() <= 0:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out (deadline)")  # type: ignore[attr-defined]
        host = self._dns_host.strip("[]")  # type: ignore[attr-defined]
        try:
            infos = resolve_bounded(host, self.port)  # type: ignore[attr-defined]
        except DnsTimeout as exc:
            raise ConnectTimeoutError(self, f"DNS lookup of {self.host} timed out") from exc  # type: ignore[attr-defined]
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type,attr-defined]
        error: Exception | None = None
        for _family, _type, _proto, _canon, sockaddr in infos:
            remaining = d.remaining()
            if remaining <= 0:
                break
            try:
                sock = urllib3_connection.create_connection(
                    (str(sockaddr[0]), self.port), _connect_timeout(self.timeout, remaining),  # type: ignore[attr-defined]
                    source_address=self.source_address, socket_options=self.socket_options,  # type: ignore[attr-defined]
                )
            except TimeoutError as exc:
                error = ConnectTimeoutError(self, f"Connection to {self.host} timed out")  # type: ignore[attr-defined]
                error.__cause__ = exc
                continue
            except OSError as exc:
                error = NewConnectionError(self, f"Failed to establish a new connection: {exc}")  # type: ignore[arg-type]
                error.__cause__ = exc
                continue
            d.register(sock)
            return sock
        raise error or ConnectTimeoutError(self, f"Connection to {self.host} timed out (deadline)")  # type: ignore[attr-defined]

    def request(self, *args: Any, **kwargs: Any) -> None:
        d = current()
        if d is not None and self.sock is not None:  # type: ignore[attr-defined]  # a reused keep-alive connection
            d.register(self.sock)  # type: ignore[attr-defined]
        return super().request(*args, **kwargs)  # type: ignore[misc]


class DeadlineHTTPConnection(_DeadlineConnectionMixin, HTTPConnection):
    pass


class DeadlineHTTPSConnection(_DeadlineConnectionMixin, HTTPSConnection):
    pass


class DeadlineHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = DeadlineHTTPConnection


class DeadlineHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = DeadlineHTTPSConnection


def read_capped(raw: Any, *, cap: int | None, chunk: int = 65536) -> bytes:
    """Read a urllib3 response body, decoded, raising :class:`ResponseTooLarge`
    as soon as it passes ``cap`` bytes (the rest is never read)."""
    parts: list[bytes] = []
    size = 0
    for data in raw.stream(chunk, decode_content=True):
        size += len(data)
        if cap is not None and size > cap:
            raw.close()
            raise ResponseTooLarge(f"the response is larger than {cap} bytes")
        parts.append(data)
    return b"".join(parts)


# --------------------------------------------------------------------------- requests


class DeadlineAdapter(HTTPAdapter):
    """A requests adapter whose every request ends within ``deadline`` seconds,
    body included, with the body read (and capped at ``max_response_bytes``)
    before ``send`` returns.

    ``stream=True`` from a caller is ignored on purpose: a body read after the
    adapter returned would be outside the deadline. A deadline that passes
    surfaces as ``requests.Timeout`` (``ConnectTimeout`` before anything was
    sent, ``ReadTimeout`` after), so callers classify it as they always did.
    """

    def __init__(self, *, deadline: float, connect_timeout: float | None = None,
                 max_response_bytes: int | None = None, **kwargs: Any) -> None:
        self.deadline_seconds = float(deadline)
        self.connect_timeout = connect_timeout
        self.max_response_bytes = max_response_bytes
        kwargs.setdefault("max_retries", 0)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": DeadlineHTTPConnectionPool, "https": DeadlineHTTPSConnectionPool}

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        with deadline(self.deadline_seconds) as d:
            connect = self.connect_timeout
            if isinstance(timeout, tuple) and timeout and isinstance(timeout[0], int | float):
                connect = min(connect or timeout[0], timeout[0])
            connect = _connect_timeout(connect, d.remaining())
            try:
                response = super().send(request, stream=True, timeout=(connect, max(0.001, d.remaining())),
                                        verify=verify, cert=cert, proxies=proxies)
                try:
                    response._content = read_capped(response.raw, cap=self.max_response_bytes)
                except ResponseTooLarge:
                    response.close()
                    raise
                except Exception:
                    response.close()
                    raise
                response._content_consumed = True
                response.raw.release_conn()
                return response
            except ResponseTooLarge:
                raise
            except Exception as exc:
                if d.expired or d.remaining() <= 0:
                    raise _timeout(exc, request) from None
                if isinstance(exc, requests.RequestException):
                    raise
                raise requests.ConnectionError(exc, request=request) from None


def _timeout(exc: BaseException, request: requests.PreparedRequest) -> requests.Timeout:
    seen_sent = not isinstance(exc, requests.ConnectTimeout)
    cls = requests.ReadTimeout if seen_sent else requests.ConnectTimeout
    return cls("deadline exceeded", request=request)
