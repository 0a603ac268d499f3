"""`make run`: start every Procfile process (honcho), or the embedded mode.

With PostgreSQL and Redis reachable this is `honcho start` on the Procfile
(web, worker, beat). In the embedded mode (neither reachable) there is no broker
for separate processes: one web process runs tasks eagerly and an in-process
scheduler runs the beat schedule; the log says so.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from architect_studio.env import detect_mode  # noqa: E402


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
    os.execvp("honcho", ["honcho", "start", "-f", "Procfile", "-p", port])


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
