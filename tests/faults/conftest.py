"""The fault suite's harness: real processes the tests can break.

* :class:`RedisServer` — its own ``redis-server`` on a spare port (never the
  shared one), stopped and started again on the same port;
* :class:`Proc` — a Procfile line (web, worker, beat) run as a real process
  against the test database and that Redis, in its own process group so
  ``kill -9`` reaches all of it;
* the subprocesses run the production settings (``settings.dev``: pooled
  database connections), with the test database's URLs and the test key.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connections

from tests.support.paths import ROOT
from tests.support.ports import free_port
from tests.support.waiting import wait_until

BIN = Path(sys.executable).parent


class RedisServer:
    def __init__(self):
        self.port = free_port(6390 + (os.getpid() % 200))
        self.dir = tempfile.mkdtemp(prefix="faults-redis-")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_until(self._answers, 10, 0.05, "redis-server")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """kill -9: the broker vanishes as in a crash (no goodbye to its clients)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def db_url(alias: str) -> str:
    s = connections[alias].settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def procfile() -> dict[str, str]:
    sys.path.insert(0, str(ROOT / "scripts"))
    from run import read_procfile

    return read_procfile(ROOT / "Procfile")


class Proc:
    """One Procfile process (through /bin/sh, as `make run` starts it), its output in a file."""

    def __init__(self, name: str, command: str, env: dict[str, str], log_dir: Path):
        self.name, self.command, self.env = name, command, env
        self.log_path = log_dir / f"{name}-{int(time.time() * 1000)}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Proc:
        self.log_path = self.log_path.with_name(f"{self.name}-{int(time.time() * 1000)}.log")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in kill()
        self.proc = subprocess.Popen(["/bin/sh", "-c", f"exec {self.command}"], cwd=ROOT, env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self._log.close()


class Blackhole:
    """A "Redis" that accepts connections and never answers: a hung server or a lost network."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)  # read nothing, answer nothing

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


class Stack:
    """Processes of one test, all stopped at its end."""

    def __init__(self, redis: RedisServer | Blackhole, tmp: Path):
        self.redis, self.tmp = redis, tmp
        self.procs: list[Proc] = []
        self.cleanups: list = []  # called first by stop(): load threads
        self.web_port = free_port()
        self.lines = procfile()

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "DJANGO_SETTINGS_MODULE": "architect_studio.settings.dev",
            "DATABASE_URL": db_url("default"),
            "DATABASE_ADMIN_URL": db_url("owner") if "owner" in connections else db_url("default"),
            "REDIS_URL": self.redis.url,
            "INTEGRATION_ENCRYPTION_KEY": settings.INTEGRATION_ENCRYPTION_KEY,
            "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "1",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{self.web_port}",
            "PORT": str(self.web_port),
            "WEB_CONCURRENCY": "1",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
            **extra,
        }

    def start(self, name: str, **extra: str) -> Proc:
        command = self.lines[name]
        if name == "beat":
            command += f" -s {self.tmp / 'beat-schedule'}"
        proc = Proc(name, command, self.env(**extra), self.tmp).start()
        self.procs.append(proc)
        if name == "web":
            wait_until(lambda: self._web_up(), 30, 0.2, "the web process")
        if name == "worker":
            wait_until(lambda: " ready." in proc.log() or not proc.alive, 60, 0.2, "the worker")
            assert proc.alive, proc.log()[-3000:]
        return proc

    def _web_up(self) -> bool:
        try:
            return requests.get(self.url("/healthz"), timeout=2).status_code in (200, 503)
        except requests.RequestException:
            return False

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.web_port}{path}"

    def stop(self) -> None:
        for cleanup in self.cleanups:
            cleanup()
        for proc in self.procs:
            if proc.alive:
                proc.kill(signal.SIGTERM)


def _needs_services() -> None:
    if settings.MODE.embedded_db or not settings.MODE.redis_url:
        pytest.skip("the fault suite runs the Procfile's processes: it needs PostgreSQL and Redis")
    if not shutil.which("redis-server"):
        pytest.skip("the fault suite starts its own redis-server: install it (Debian: apt-get install redis-server)")


@pytest.fixture
def redis_server():
    _needs_services()
    server = RedisServer()
    server.start()
    yield server
    server.close()


@pytest.fixture
def stack(redis_server, tmp_path, transactional_db):
    s = Stack(redis_server, tmp_path)
    yield s
    s.stop()
    for conn in connections.all():
        conn.close()


@pytest.fixture
def hung_stack(tmp_path, transactional_db):
    _needs_services()
    hole = Blackhole()
    s = Stack(hole, tmp_path)
    yield s
    s.stop()
    hole.close()
    for conn in connections.all():
        conn.close()


class IncomingLoad:
    """A sender posting signed leads at a steady rate from a thread, as a provider would.

    Every lead is retried until it gets a 2xx (a provider retries 429, 5xx and
    connection errors); ``answers`` keeps every status seen, ``accepted`` the
    lead names the hub acknowledged.
    """

    def __init__(self, url: str, secret: str, rate: float = 20.0, prefix: str = "lead"):
        from webhooks.signing import hex_hmac_sha256

        self.url, self.secret, self.interval, self.prefix = url, secret, 1.0 / rate, prefix
        self.sign = hex_hmac_sha256
        self.answers: list[tuple[float, int | str]] = []  # (time, status or exception name)
        self.spans: list[tuple[float, float, int | str]] = []  # (sent, answered, status)
        self.accepted: list[str] = []
        self.retries = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.session = requests.Session()

    def start(self) -> IncomingLoad:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def _send(self, name: str) -> None:
        import json

        body = json.dumps({"lead": {"name": name}}).encode()
        headers = {"Content-Type": "application/json", "X-Webhook-Signature": self.sign(self.secret, body)}
        while True:
            sent = time.monotonic()
            try:
                status: int | str = self.session.post(self.url, data=body, headers=headers, timeout=10).status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            self.answers.append((time.monotonic(), status))
            self.spans.append((sent, time.monotonic(), status))
            if isinstance(status, int) and 200 <= status < 300:
                self.accepted.append(name)
                return
            self.retries += 1
            time.sleep(0.5)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            self._send(f"{self.prefix}-{n}")
            self._stop.wait(self.interval)

    def statuses(self, since: float = 0.0) -> dict:
        from collections import Counter

        return dict(Counter(s for t, s in self.answers if t >= since))
