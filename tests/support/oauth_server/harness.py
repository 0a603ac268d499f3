"""Start/stop the local OAuth server for a test and drive its consent screen with requests."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

from tests.support.ports import free_port

SERVER = Path(__file__).with_name("server.py")
#: The cross-process refresh test's worker script (see its docstring).
REFRESH_WORKER = Path(__file__).with_name("refresh_worker.py")


@dataclass
class OAuthServer:
    base_url: str
    process: subprocess.Popen
    redirect_uri: str = ""
    client_id: str = "hub-client"
    client_secret: str = "hub-secret"

    @property
    def authorization_url(self) -> str:
        return f"{self.base_url}/o/authorize/"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/o/token/"

    @property
    def revoke_url(self) -> str:
        return f"{self.base_url}/o/revoke_token/"

    def stats(self) -> dict[str, int]:
        return requests.get(f"{self.base_url}/test-stats", timeout=5).json()

    def consent(self, authorization_url: str) -> str:
        """Log in as the test user and follow the authorization URL; returns the redirect Location."""
        browser = requests.Session()
        browser.get(f"{self.base_url}/test-login", timeout=5).raise_for_status()
        response = browser.get(authorization_url, allow_redirects=False, timeout=10)
        assert response.status_code == 302, (response.status_code, response.text[:500])
        return response.headers["Location"]

    def issue_tokens(self, scope: str = "read write") -> dict:
        """A real token pair for the test user, straight from the server (authorization
        code + PKCE, client_secret_basic): the token response as JSON. For tests that
        need a live grant without running the hub's own connect flow."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = requests.Request("GET", self.authorization_url, params={
            "response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
            "scope": scope, "state": "test", "code_challenge": challenge, "code_challenge_method": "S256",
        }).prepare().url
        code = parse_qs(urlsplit(self.consent(query)).query)["code"][0]
        response = requests.post(self.token_url, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
        }, auth=(self.client_id, self.client_secret), timeout=10)
        assert response.status_code == 200, (response.status_code, response.text[:500])
        return response.json()

    def expire_access(self, access_token: str) -> None:
        """Expire this access token at the server now; its refresh token still works."""
        requests.post(f"{self.base_url}/test-expire-access", data={"token": access_token}, timeout=5).raise_for_status()

    def accepts(self, access_token: str) -> bool:
        """Whether the protected resource takes this bearer token now."""
        response = requests.get(f"{self.base_url}/account-info/v3/details",
                                headers={"Authorization": f"Bearer {access_token}"}, timeout=5)
        return response.status_code == 200

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start(redirect_uri: str, *, access_seconds: int = 3600) -> OAuthServer:
    port = free_port()
    db = Path(tempfile.mkdtemp(prefix="oauth-server-")) / "db.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["OAUTH_TEST_ACCESS_SECONDS"] = str(access_seconds)
    process = subprocess.Popen(
        [sys.executable, str(SERVER), str(port), redirect_uri, str(db)],
        cwd=str(SERVER.parent), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = OAuthServer(f"http://127.0.0.1:{port}", process, redirect_uri)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"OAuth test server exited with {process.returncode}")
        try:
            if requests.get(f"{server.base_url}/test-stats", timeout=1).ok:
                return server
        except requests.RequestException:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"OAuth test server did not answer on {server.base_url}/test-stats within 60 s")
