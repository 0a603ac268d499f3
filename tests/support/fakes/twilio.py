"""A local Twilio REST API (2010-04-01): the slice the hub's connect check uses.

A real HTTP server (threaded, 127.0.0.1, a free port) so the hub's ProviderClient runs
unchanged against it: point the "twilio" provider app's API base at ``TwilioFake.url``
(the client keeps the catalog's ``/2010-04-01`` path).

What it implements, as documented:

- ``GET /2010-04-01/Accounts/{AccountSid}.json`` -- fetch an Account resource, authenticated
  with HTTP Basic (Account SID as user name, auth token as password); the body has the
  documented properties (``sid``, ``friendly_name``, ``status``, ``type``, ``auth_token``,
  ``owner_account_sid``, ``date_created``, ``date_updated``, ``uri``, ``subresource_uris``).
  https://www.twilio.com/docs/iam/api/account#fetch-an-account-resource ,
  https://www.twilio.com/docs/usage/requests-to-twilio (HTTP Basic with the SID and token)
- A request whose credentials do not match answers ``401`` with Twilio's error body
  ``{"code": 20003, "message": "Authenticate", "more_info": ..., "status": 401}`` and
  ``WWW-Authenticate: Basic realm="Twilio API"``:
  https://www.twilio.com/docs/errors/20003 ,
  https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions
- An account the credentials may not read answers ``404`` with code 20404
  (https://www.twilio.com/docs/errors/20404).
"""

from __future__ import annotations

import base64
from typing import Any

from tests.support.fakes.base import FakeServer

DATE = "Thu, 30 Jul 2015 20:00:00 +0000"


class TwilioFake(FakeServer):
    name = "twilio-fake"

    def __init__(self, accounts: dict[str, str]):
        """``accounts``: Account SID -> its auth token."""
        self.accounts = dict(accounts)
        self.calls: list[tuple[str, int]] = []
        self.bind()
        self.url = self.base_url

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, dict]:
        if method != "GET":
            return 405, _error(20004, "Method not allowed", 405), {}
        status, answer, extra = self.answer(target, headers.get("authorization", ""))
        self.calls.append((target, status))
        return status, answer, extra

    def answer(self, path: str, authorization: str) -> tuple[int, dict, dict]:
        user, token = _basic(authorization)
        if user not in self.accounts or self.accounts[user] != token:
            return 401, _error(20003, "Authenticate", 401), {"WWW-Authenticate": 'Basic realm="Twilio API"'}
        prefix, suffix = "/2010-04-01/Accounts/", ".json"
        sid = path[len(prefix):-len(suffix)] if path.startswith(prefix) and path.endswith(suffix) else None
        if sid != user:
            return 404, _error(20404, f"The requested resource {path} was not found", 404), {}
        return 200, {
            "auth_token": token, "date_created": DATE, "date_updated": DATE, "friendly_name": "סטודיו כהן",
            "owner_account_sid": sid, "sid": sid, "status": "active", "type": "Full",
            "subresource_uris": {"messages": f"/2010-04-01/Accounts/{sid}/Messages.json"},
            "uri": f"/2010-04-01/Accounts/{sid}.json",
        }, {}


def _basic(header: str) -> tuple[str | None, str | None]:
    if not header.startswith("Basic "):
        return None, None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None, None
    return user, password


def _error(code: int, message: str, status: int) -> dict:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}
