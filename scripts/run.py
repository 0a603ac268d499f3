"""`make run`: start every Procfile process and keep them running, or the embedded mode.

With PostgreSQL and Redis reachable this starts each Procfile process (web,
worker, beat) and supervises them: a process that exits, whatever the reason,
is started again (after 1 s, doubling up to 30 s while it keeps dying within
a minute of its start), and the others keep running. honcho stopped every
process when one exited, so one crashed worker took the whole hub down.
Ctrl-C (SIGINT) or SIGTERM stops them all.

In the embedded mode (neither reachable) there is no broker for separate
processes: one web process runs tasks eagerly and an in-process scheduler
runs the beat schedule; the log says so.

``PROCFILE`` names another Procfile (tests use it).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from architect_studio.env import detect_mode  # noqa: E402

#: A process that lived at least this long is healthy again: its backoff resets.
STABLE_SECONDS = 60.0
MAX_BACKOFF = 30.0


def read_procfile(path: Path) -> dict[str, str]:
    processes: dict[str, str] = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line.strip())
        if match and not line.lstrip().startswith("#"):
            processes[match.group(1)] = match.group(2)
    return processes


class Supervisor:
    """Runs named shell commands, prefixes their output, restarts any that exits."""

    def __init__(self, commands: dict[str, str]):
        self.commands = commands
        self.procs: dict[str, subprocess.Popen] = {}
        self.stopping = threading.Event()
        self.width = max(len(n) for n in commands)
        self._lock = threading.Lock()

    def say(self, name: str, line: str) -> None:
        with self._lock:
            sys.stdout.write(f"{time.strftime('%H:%M:%S')} {name.ljust(self.width)} | {line}\n")
            sys.stdout.flush()

    def _pump(self, name: str, proc: subprocess.Popen) -> None:
        for raw in proc.stdout:
            self.say(name, raw.decode("utf-8", "replace").rstrip("\n"))

    def start(self, name: str) -> subprocess.Popen:
        # Own process group: a stop reaches the command's children (uvicorn's workers).
        proc = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {self.commands[name]}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.procs[name] = proc
        self.say(name, f"started with pid {proc.pid}")
        threading.Thread(target=self._pump, args=(name, proc), daemon=True).start()
        return proc

    def watch(self, name: str) -> None:
        backoff = 1.0
        while not self.stopping.is_set():
            started = time.monotonic()
            code = self.start(name).wait()
            if self.stopping.is_set():
                return
            lived = time.monotonic() - started
            backoff = 1.0 if lived >= STABLE_SECONDS else backoff
            self.say(name, f"exited with code {code} after {lived:.0f} s; restarting in {backoff:.0f} s")
            if self.stopping.wait(backoff):
                return
            backoff = min(backoff * 2, MAX_BACKOFF)

    def stop(self, *_args) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        for proc in self.procs.values():
            self._signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(proc, signal.SIGKILL)

    @staticmethod
    def _signal(proc: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        watchers = [threading.Thread(target=self.watch, args=(n,), daemon=True) for n in self.commands]
        for watcher in watchers:
            watcher.start()
        while not self.stopping.wait(0.5):
            pass
        for watcher in watchers:
            watcher.join(15)


def main() -> None:
    mode = detect_mode()
    bin_dir = Path(sys.executable).parent
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    port = os.environ.get("PORT", "8000")
    print(f"architect-studio: {mode.describe()}", flush=True)
    _print_urls(os.environ.get("PUBLIC_BASE_URL") or f"http://localhost:{port}")
    if mode.embedded_db or mode.embedded_broker:
        print("architect-studio: EMBEDDED MODE — one process: web + eager tasks + in-process scheduler", flush=True)
        os.environ["ARCHITECT_INPROCESS_SCHEDULER"] = "1"
        os.execvp(
            "uvicorn",
            ["uvicorn", "architect_studio.asgi:application", "--host", "0.0.0.0", "--port", port, "--workers", "1"],
        )
    os.environ["PORT"] = port
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    Supervisor(read_procfile(Path(os.environ.get("PROCFILE") or "Procfile"))).run()


def _print_urls(base: str) -> None:
    """What a person opens first; the demo login was printed by bootstrap_demo just before."""
    base = base.rstrip("/")
    ws = "ws" + base[len("http"):] if base.startswith("http") else base
    for label, url in (("pages", f"{base}/integrations"), ("API", f"{base}/api/docs"),
                       ("admin", f"{base}/admin/"), ("WebSocket", f"{ws}/ws/events"), ("health", f"{base}/healthz")):
        print(f"architect-studio: {label:<9} {url}", flush=True)
    print("architect-studio: LOG_LEVEL=DEBUG shows every task and beat tick; LOG_FORMAT=json for pipelines", flush=True)


if __name__ == "__main__":
    main()
