"""A small in-house REST API on 127.0.0.1, the kind a studio points the Custom API adapter at
(no vendor's documentation to follow: this module is the API's documentation).

- Auth: ``X-Api-Key: <key>`` on every request; anything else -> 401 ``{"error": "unauthorized"}``.
- ``GET /v1/<collection>?cursor=&limit=&updated_since=`` -> 200
  ``{"data": [<item>...], "meta": {"next_cursor": "<opaque>" | null}}``, items ordered by id;
  ``updated_since`` (ISO 8601) keeps items with ``updated_at`` strictly after it. A cursor from
  before ``reset_cursors()`` -> 410 ``{"error": "cursor_expired"}``.
- ``POST /v1/<collection>`` (JSON object) -> 201 the item (``id`` assigned, ``updated_at`` now);
  ``PATCH /v1/<collection>/<id>`` -> 200 the item; ``DELETE /v1/<collection>/<id>`` -> 204;
  an unknown id -> 404; a body that is not a JSON object -> 422.
- ``fail_next(status, body, path=, method=, headers=)`` makes the next matching request fail once.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.fakes.base import FakeServer, running

API_KEY = "in-house-key-1"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    status: int
    body: Any


class FakeRestApi(FakeServer):
    name = "fake-rest-api"

    def __init__(self) -> None:
        self.items: dict[str, dict[str, dict[str, Any]]] = {}
        self.requests: list[Seen] = []
        self._next_id = 100
        self._generation = 1
        self._failures: list[tuple[str | None, str | None, int, Any, dict]] = []
        self._clock = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ test controls
    def now(self) -> str:
        self._clock += timedelta(seconds=1)
        return self._clock.isoformat().replace("+00:00", "Z")

    def put(self, collection: str, **fields: Any) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            item = {"id": str(self._next_id), **fields, "updated_at": self.now()}
            self.items.setdefault(collection, {})[item["id"]] = item
            return item

    def edit(self, collection: str, item_id: str, **fields: Any) -> dict[str, Any]:
        with self._lock:
            item = self.items[collection][item_id]
            item.update(fields, updated_at=self.now())
            return item

    def remove(self, collection: str, item_id: str) -> None:
        with self._lock:
            del self.items[collection][item_id]

    def by(self, collection: str, **fields: Any) -> dict[str, Any] | None:
        return next((i for i in self.items.get(collection, {}).values()
                     if all(i.get(k) == v for k, v in fields.items())), None)

    def reset_cursors(self) -> None:
        self._generation += 1

    def fail_next(self, status: int, body: Any, *, path: str | None = None, method: str | None = None,
                  headers: dict | None = None) -> None:
        self._failures.append((path, method, status, body, headers or {}))

    def count(self, method: str | None = None, path: str | None = None, status: int | None = None) -> int:
        return sum(1 for r in self.requests if (method is None or r.method == method)
                   and (path is None or r.path == path) and (status is None or r.status == status))

    # ------------------------------------------------------------------ the API
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, dict]:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = "<not json>"
        status, data, extra = self._answer(method, parts.path, query, headers, payload)
        self.requests.append(Seen(method, parts.path, query, status, payload))
        return status, data, extra

    def _answer(self, method, path, query, headers, payload) -> tuple[int, Any, dict]:
        for failure in list(self._failures):
            if failure[0] in (None, path) and failure[1] in (None, method):
                self._failures.remove(failure)
                return failure[2], failure[3], failure[4]
        if headers.get("x-api-key") != API_KEY:
            return 401, {"error": "unauthorized"}, {}
        segments = [s for s in path.split("/") if s]
        if len(segments) < 2 or segments[0] != "v1":
            return 404, {"error": "not_found"}, {}
        collection = segments[1]
        with self._lock:
            if len(segments) == 2 and method == "GET":
                return self._list(collection, query)
            if len(segments) == 2 and method == "POST":
                if not isinstance(payload, dict):
                    return 422, {"error": "body must be a JSON object"}, {}
                self._next_id += 1
                item = {**payload, "id": str(self._next_id), "updated_at": self.now()}
                self.items.setdefault(collection, {})[item["id"]] = item
                return 201, item, {}
            item = self.items.get(collection, {}).get(segments[2]) if len(segments) == 3 else None
            if item is None:
                return 404, {"error": "not_found"}, {}
            if method == "PATCH":
                if not isinstance(payload, dict):
                    return 422, {"error": "body must be a JSON object"}, {}
                item.update({k: v for k, v in payload.items() if k not in ("id", "updated_at")},
                            updated_at=self.now())
                return 200, item, {}
            if method == "DELETE":
                del self.items[collection][item["id"]]
                return 204, None, {}
        return 405, {"error": "method_not_allowed"}, {}

    def _list(self, collection: str, query: dict[str, str]) -> tuple[int, Any, dict]:
        offset = 0
        if query.get("cursor"):
            try:
                generation, offset = json.loads(base64.urlsafe_b64decode(query["cursor"]))
            except (ValueError, TypeError):
                return 400, {"error": "bad cursor"}, {}
            if generation != self._generation:
                return 410, {"error": "cursor_expired"}, {}
        items = sorted(self.items.get(collection, {}).values(), key=lambda i: int(i["id"]))
        if query.get("updated_since"):
            items = [i for i in items if i["updated_at"] > query["updated_since"]]
        limit = max(1, min(int(query.get("limit") or 50), 100))
        page = items[offset:offset + limit]
        more = offset + limit < len(items)
        cursor = base64.urlsafe_b64encode(json.dumps([self._generation, offset + limit]).encode()).decode()
        return 200, {"data": page, "meta": {"next_cursor": cursor if more else None}}, {}


@pytest.fixture
def rest_api_fake() -> Iterator[FakeRestApi]:
    with running(FakeRestApi()) as fake:
        yield fake
