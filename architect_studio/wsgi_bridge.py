"""Serve Django's WSGI application from the ASGI server, one thread hop per request.

Why not a library bridge (a2wsgi, asgiref's ``WsgiToAsgi``): they hand the body
and every response message across threads one at a time — reading the body,
the response start, each body chunk and the end of the body each wait for a
round trip through the event loop. Under load the loop is busy and every one
of those waits grows; ``bench/incoming.py`` measured the webhook endpoint at
600 requests/s through a2wsgi on two uvicorn workers against 920 under
gunicorn's threads. Here the event loop reads the whole body first (it is
bounded), a pool thread runs Django and returns the finished response, and
the loop writes it: one hop there and one back.

What stays streamed:

* a body that declares more than ``body_limit`` bytes is read lazily from the
  thread as the application asks for it (Django then refuses it or stores
  it as an upload, as under any WSGI server);
* a streaming response (``StreamingHttpResponse``, ``FileResponse``, WhiteNoise's
  files) is iterated on the same thread that produced it, each chunk sent
  as it comes, so database connections and ``close()`` stay on that thread.

A body without a Content-Length (chunked senders) is read in full and sized
before Django sees it, since WSGI reads exactly ``CONTENT_LENGTH`` bytes; over
``body_limit`` it is answered 413 without reaching Django.

Header names containing ``_`` are dropped, as gunicorn and Django's
runserver do: in the WSGI environ ``X-Tenant_Id`` would be indistinguishable
from ``X-Tenant-Id``.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import itertools
import logging
import sys
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("architect_studio.wsgi_bridge")

_TOO_LARGE = b'{"error": {"code": "payload_too_large", "message": "The request body is too large."}}'
_SERVER_ERROR = b'{"error": {"code": "server_error", "message": "Internal server error."}}'


def _json_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]


class _StreamedBody:
    """``wsgi.input`` for a large body: reads ASGI messages from the pool thread on demand."""

    def __init__(self, loop: asyncio.AbstractEventLoop, receive):
        self._loop = loop
        self._receive = receive
        self._buffer = bytearray()
        self._more = True

    def _fill(self) -> bool:
        if not self._more:
            return False
        message = asyncio.run_coroutine_threadsafe(self._receive(), self._loop).result()
        if message["type"] == "http.disconnect":
            self._more = False
            return False
        self._buffer += message.get("body", b"")
        self._more = message.get("more_body", False)
        return True

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._buffer) < size) and self._fill():
            pass
        size = len(self._buffer) if size < 0 else min(size, len(self._buffer))
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def readline(self, size: int = -1) -> bytes:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0 or (0 <= size <= len(self._buffer)) or not self._fill():
                break
        cut = len(self._buffer) if end < 0 else end + 1
        if size >= 0:
            cut = min(cut, size)
        data = bytes(self._buffer[:cut])
        del self._buffer[:cut]
        return data


def build_environ(scope: dict, body, content_length: int | None) -> dict:
    """The PEP 3333 environ of an ASGI HTTP scope (strings are bytes-as-latin-1)."""
    server = scope.get("server") or ("localhost", 80)
    root = scope.get("root_path", "")
    path = scope["path"]
    if root and path.startswith(root):
        path = path[len(root):]
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root.encode("utf-8").decode("latin-1"),
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = str(client[0]), str(client[1])
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        if "_" in name:
            continue
        if name == "content-length":
            continue  # set below from what was actually read, or declared
        key = "CONTENT_TYPE" if name == "content-type" else "HTTP_" + name.upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    if content_length is not None:
        environ["CONTENT_LENGTH"] = str(content_length)
    return environ


class WsgiBridge:
    """ASGI ``http`` → a WSGI application on a thread pool (see the module docstring)."""

    def __init__(self, app, *, workers: int, body_limit: int):
        self.app = app
        self.body_limit = body_limit
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wsgi")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"WsgiBridge serves HTTP only, not {scope['type']!r}")
        loop = asyncio.get_running_loop()
        declared = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                break
        if declared is not None and declared > self.body_limit:
            body, length = _StreamedBody(loop, receive), declared
        else:
            chunks, size, more = [], 0, True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.body_limit:
                    await send({"type": "http.response.start", "status": 413, "headers": _json_headers(_TOO_LARGE)})
                    await send({"type": "http.response.body", "body": _TOO_LARGE})
                    return
                chunks.append(chunk)
                more = message.get("more_body", False)
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            body, length = io.BytesIO(data), len(data)
        environ = build_environ(scope, body, length)
        streamed = _Streamed(loop, send)
        context = contextvars.copy_context()
        try:
            result = await loop.run_in_executor(self.executor, context.run, self._call, environ, streamed)
        except Exception:
            log.exception("unhandled error serving %s %s", scope["method"], scope["path"])
            if not streamed.started:
                await send({"type": "http.response.start", "status": 500, "headers": _json_headers(_SERVER_ERROR)})
                await send({"type": "http.response.body", "body": _SERVER_ERROR})
            return
        if result is not None:
            status, headers, content = result
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": content})

    def _call(self, environ: dict, streamed: _Streamed):
        """On a pool thread: run the application; a whole response is returned, a streaming one sent from here."""
        started: list = []
        written: list[bytes] = []

        def start_response(status: str, headers, exc_info=None):
            if exc_info is not None and streamed.started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [int(status.split(" ", 1)[0]),
                          [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]]
            return written.append

        response = self.app(environ, start_response)
        try:
            if not getattr(response, "streaming", False):
                content = b"".join([*written, *response])
                return started[0], started[1], content
            streamed.send({"type": "http.response.start", "status": started[0], "headers": started[1]})
            for chunk in itertools.chain(written, response):
                if chunk:
                    streamed.send({"type": "http.response.body", "body": chunk, "more_body": True})
            streamed.send({"type": "http.response.body", "body": b""})
            return None
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()


class _Streamed:
    """Sends ASGI messages from a pool thread, waiting for each (back-pressure)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, send):
        self.loop = loop
        self._send = send
        self.started = False

    def send(self, message: dict) -> None:
        self.started = True
        asyncio.run_coroutine_threadsafe(self._send(message), self.loop).result()
