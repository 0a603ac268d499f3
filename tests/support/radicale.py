"""A real CalDAV server for the tests: Radicale (a dev dependency), started once per test
session on a free loopback port, with htpasswd (plain) authentication for one user and
a calendar collection, and stopped (its storage folder removed) after the session.

Use the ``radicale`` fixture (registered in tests/conftest.py)::

    def test_x(radicale):
        radicale.url                       # "http://127.0.0.1:<port>", the CalDAV server URL
        radicale.username, radicale.password
        radicale.calendar                  # "/studio%40example.com/calendar/", made at start
        path = radicale.new_calendar("Work", color="#FF0000FF")   # a fresh, empty one

Set-up calls here go straight to Radicale with ``requests`` (they are the test's
arrangement, not the code under test). Radicale answers 403 with the
``DAV:valid-sync-token`` precondition to an unknown sync token (RFC 6578 §3.2).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
import requests

from tests.support.ports import free_port

USERNAME = "studio@example.com"
PASSWORD = "app-pass-1234"

# RFC 4791 §5.3.1 MKCALENDAR, with the Apple calendar-color property iCloud and Radicale keep.
_MKCALENDAR = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:I="http://apple.com/ns/ical/">'
    "<D:set><D:prop><D:displayname>{name}</D:displayname>{color}"
    "<C:supported-calendar-component-set>{components}</C:supported-calendar-component-set>"
    "</D:prop></D:set></C:mkcalendar>"
)


@dataclass
class RadicaleServer:
    url: str
    username: str
    password: str
    calendar: str = ""
    root: Path | None = None  # the server's storage folder (collections/ under it)

    @property
    def home(self) -> str:
        """The user's principal and calendar home (Radicale uses one collection for both)."""
        return f"/{quote(self.username, safe='')}/"

    def session(self) -> requests.Session:
        s = requests.Session()
        s.auth = (self.username, self.password)
        s.trust_env = False
        return s

    def new_calendar(self, name: str = "Calendar", *, color: str | None = None,
                     components: tuple[str, ...] = ("VEVENT",)) -> str:
        """MKCALENDAR a fresh collection under the user's home; returns its path (href)."""
        path = f"{self.home}{uuid.uuid4().hex}/"
        body = _MKCALENDAR.format(
            name=name,
            color=f"<I:calendar-color>{color}</I:calendar-color>" if color else "",
            components="".join(f'<C:comp name="{c}"/>' for c in components),
        )
        with self.session() as s:
            answer = s.request("MKCALENDAR", self.url + path, data=body.encode(),
                               headers={"Content-Type": "application/xml; charset=utf-8"}, timeout=10)
        assert answer.status_code == 201, (answer.status_code, answer.text)
        return path

    def put(self, href: str, ics: str) -> str:
        """Store an iCalendar object as another CalDAV client would; returns its ETag."""
        with self.session() as s:
            answer = s.put(self.url + href, data=ics.encode(), timeout=10,
                           headers={"Content-Type": "text/calendar; charset=utf-8"})
        assert answer.status_code in (201, 204), (answer.status_code, answer.text)
        return answer.headers["ETag"]

    def forget_sync_tokens(self, href: str) -> None:
        """The server drops the sync tokens it issued for a calendar (Radicale keeps them in the
        collection's ``.Radicale.cache/sync-token`` folder): the next sync-collection REPORT with
        an old token answers 403 ``DAV:valid-sync-token`` (RFC 6578 §3.2)."""
        assert self.root is not None
        folder = self.root / "collections" / "collection-root" / unquote(href).strip("/")
        cache = folder / ".Radicale.cache" / "sync-token"
        assert cache.is_dir(), f"no sync tokens issued for {href}"
        shutil.rmtree(cache)

    def get(self, href: str) -> requests.Response:
        with self.session() as s:
            return s.get(self.url + href, timeout=10)


def _wait_until_answering(process: subprocess.Popen, url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"Radicale exited with {process.returncode} before answering on {url}")
        try:
            requests.get(url, timeout=0.5)
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise RuntimeError(f"Radicale did not answer on {url} within {timeout:.0f} s") from None
            time.sleep(0.1)


@pytest.fixture(scope="session")
def radicale() -> Iterator[RadicaleServer]:
    root = Path(tempfile.mkdtemp(prefix="radicale-"))
    (root / "users").write_text(f"{USERNAME}:{PASSWORD}\n")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}", "--auth-type", "htpasswd",
         "--auth-htpasswd-filename", str(root / "users"), "--auth-htpasswd-encryption", "plain",
         "--storage-filesystem-folder", str(root / "collections")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = RadicaleServer(url=f"http://127.0.0.1:{port}", username=USERNAME, password=PASSWORD, root=root)
    try:
        _wait_until_answering(process, server.url)
        server.calendar = server.new_calendar("Calendar")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(root, ignore_errors=True)
