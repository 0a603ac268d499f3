"""Hostile local receivers for the deadline tests: a server that answers and then
drips one byte at a time, and one that sends an endless body as fast as it can.

Raw TCP (not http.server) so the test controls every byte and its timing.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class DripServer:
    """Answers every connection with ``head``, then sends ``drip`` every ``interval``
    seconds for ever (``endless=True``: 64 KiB chunks as fast as the client takes them).

    ``closed_after`` records, per connection, how long after the request arrived the
    client hung up (what the deadline is about).
    """

    head: bytes = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
    interval: float = 1.0
    drip: bytes = b" "
    endless: bool = False
    port: int = 0
    requests: int = 0
    bytes_sent: int = 0
    closed_after: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _socks: list[socket.socket] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> DripServer:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self._listener.getsockname()[1]
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for sock in [self._listener, *self._socks]:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept/recv (close alone does not)
            except OSError:
                pass
            try:
                sock.close()
            except OSError:
                pass
        for t in self._threads:
            t.join(timeout=5)

    def _spawn(self, target, *args) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(t)
        t.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._listener.accept()
            except OSError:
                return
            self._socks.append(conn)
            self._spawn(self._serve, conn)

    @staticmethod
    def _read_request(conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            rest += chunk
        return True

    def _serve(self, conn: socket.socket) -> None:
        try:
            if not self._read_request(conn):
                return
            self.requests += 1
            started = time.monotonic()
            conn.sendall(self.head)
            conn.settimeout(self.interval if not self.endless else 1.0)
            chunk = b"x" * 65536
            while not self._stop.is_set():
                if self.endless:
                    self.bytes_sent += conn.send(chunk)
                    continue
                try:  # wait one interval, noticing at once a client that hangs up
                    if conn.recv(1) == b"":
                        break
                except TimeoutError:
                    pass
                conn.sendall(self.drip)
                self.bytes_sent += len(self.drip)
            else:
                return
            self.closed_after.append(time.monotonic() - started)
        except OSError:
            self.closed_after.append(time.monotonic() - started)
        finally:
            conn.close()
