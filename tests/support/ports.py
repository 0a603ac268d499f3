"""The one free-port helper of the tests."""

from __future__ import annotations

import socket


def free_port(start: int = 0) -> int:
    """A port nobody listens on at the moment it is returned (nothing listens on it once
    the probing socket is closed): the kernel's choice, or from ``start`` upwards."""
    if not start:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    for port in range(start, start + 500):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}..{start + 499}")
