"""A fake monday.com GraphQL API v2 (served through ``responses``, so the hub's real
ProviderClient makes every call), answering the query shapes the adapter sends, with the
documented semantics, at ``https://api.monday.com/v2``:

- Items as "Items page" shows them: ``{"id", "name", "updated_at", "column_values": [{"id",
  "type", "text", "value"}]}``; ``boards(ids) { items_page(limit, query_params) { cursor items
  } }`` then ``next_items_page(limit, cursor)``; ``cursor`` null on the last page; a cursor is
  valid 60 minutes: https://developer.monday.com/api-reference/reference/items-page
- The last-updated rule ``{column_id: "__last_updated__", compare_value: ["EXACT", "YYYY-MM-DD"],
  operator: greater_than, compare_attribute: "UPDATED_AT"}``:
  https://developer.monday.com/api-reference/reference/last-updated
- ``create_item(board_id, item_name, column_values)``, ``change_multiple_column_values`` (a
  ``name`` key renames), ``delete_item``; column values JSON (status ``{"label"}``, date
  ``{"date"}``, text a string); an unknown status label -> ``ColumnValueException``:
  https://developer.monday.com/api-reference/reference/items ,
  https://developer.monday.com/api-reference/reference/column-values-v2
- ``create_webhook(board_id, url, event)`` -> ``{id, board_id}``, ``delete_webhook(id)``:
  https://developer.monday.com/api-reference/reference/webhooks
- ``complexity { before after reset_in_x_seconds }``; a spent budget -> HTTP 429 with
  ``{"errors": [{"message": "Complexity budget exhausted", "extensions": {"code":
  "COMPLEXITY_BUDGET_EXHAUSTED", "retry_in_seconds": N}}]}``; other errors with HTTP 200 and
  ``extensions.code``; 401 for a wrong token:
  https://developer.monday.com/api-reference/docs/rate-limits ,
  https://developer.monday.com/api-reference/docs/errors

Chosen here (not documented): a query costs 10,000 points, ids count up, the fake's clock is
``now`` (advanced by tests); the cursor text is opaque base64-like.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.fakes.base import requests_mocked

ORIGIN = "https://api.monday.com"
TOKEN_URL = "https://auth.monday.com/oauth2/token"
BOARD = "1234567890"
LABELS = ("Working on it", "Done", "Stuck", "")
COST = 10_000


@dataclass
class MondayFake:
    token: str = "monday-token-1"
    now: datetime = field(default_factory=lambda: datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    cursors: dict[str, tuple[list[str], datetime]] = field(default_factory=dict)
    budget: int = 5_000_000
    calls: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    exhausted: int = 0  # the next N queries answer COMPLEXITY_BUDGET_EXHAUSTED
    failures: list[int] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(9000001))
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def put(self, name: str, status: str = "", text: str = "") -> str:
        item_id = str(next(self.ids))
        self.items[item_id] = {"id": item_id, "name": name, "updated_at": "", "column_values": [
            {"id": "status", "type": "status", "text": status, "value": None},
            {"id": "date4", "type": "date", "text": "", "value": None},
            {"id": "text0", "type": "text", "text": text, "value": json.dumps(text) if text else None}]}
        self.touch(item_id)
        return item_id

    def touch(self, item_id: str, **columns: str) -> None:
        self.now += timedelta(seconds=1)
        item = self.items[item_id]
        for column in item["column_values"]:
            if column["id"] in columns:
                column["text"] = columns[column["id"]]
        item["updated_at"] = self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def column(self, item_id: str, column_id: str) -> str:
        return next(c["text"] for c in self.items[item_id]["column_values"] if c["id"] == column_id)

    # ------------------------------------------------------------ HTTP
    def token_endpoint(self, request) -> tuple[int, dict[str, str], str]:
        return 400, {"Content-Type": "application/json"}, json.dumps({"error": "invalid_grant"})

    def handle(self, request) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        self.calls.append(body)
        status, payload = self._route(request, body["query"], body.get("variables") or {})
        self.statuses.append(status)
        return status, {"Content-Type": "application/json"}, json.dumps(payload)

    def _error(self, message: str, code: str, status: int = 200, **ext: Any) -> tuple[int, dict[str, Any]]:
        return status, {"errors": [{"message": message, "locations": [{"line": 1, "column": 1}],
                                    "extensions": {"code": code, "status_code": status, **ext}}],
                        "account_id": 4242}

    def _route(self, request, query: str, variables: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if request.headers.get("Authorization") != self.token or not request.headers.get("API-Version"):
            return 401, {"errors": [{"message": "Not Authenticated", "extensions": {"code": "UNAUTHENTICATED"}}]}
        if self.failures:
            status = self.failures.pop(0)
            return status, {"error_message": "Internal server error", "status_code": status}
        if self.exhausted:
            self.exhausted -= 1
            return self._error("Complexity budget exhausted", "COMPLEXITY_BUDGET_EXHAUSTED", 429,
                               complexity=COST, complexity_budget_left=0, retry_in_seconds=7)
        before = self.budget
        self.budget -= COST
        data: dict[str, Any] = {}
        if "complexity" in query:
            data["complexity"] = {"before": before, "after": self.budget, "reset_in_x_seconds": 42}
        try:
            data.update(self._answer(query, variables))
        except _Refused as exc:
            return self._error(exc.args[0], exc.args[1])
        return 200, {"data": data, "account_id": 4242}

    def _answer(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        limit = int(re.search(r"limit: (\d+)", query).group(1)) if "limit:" in query else 25
        if "next_items_page" in query:
            ids, made = self.cursors.get(variables.get("c"), (None, None))
            if ids is None or self.now - made > timedelta(minutes=60):
                raise _Refused("CursorExpiredError: The cursor provided has expired.", "CursorExpiredError")
            return {"next_items_page": self._page(ids, limit)}
        if "columns { id title type }" in query:  # a board's columns (https://developer.monday.com/api-reference/reference/columns)
            if [str(b) for b in variables.get("b") or []] != [BOARD]:
                return {"boards": []}
            return {"boards": [{"columns": [{"id": "name", "title": "Name", "type": "name"},
                                            {"id": "status", "title": "Status", "type": "status"},
                                            {"id": "date4", "title": "Due date", "type": "date"},
                                            {"id": "text0", "title": "Notes", "type": "text"}]}]}
        if "items_page" in query:
            if f"boards(ids: [{BOARD}])" not in query:
                return {"boards": []}
            rows = sorted(self.items.values(), key=lambda i: (i["updated_at"], i["id"]))
            rule = re.search(r'compare_value: \["EXACT", "(\d{4}-\d{2}-\d{2})"\], operator: greater_than', query)
            if rule:
                day = rule.group(1)
                rows = [i for i in rows if i["updated_at"][:10] > day]
            return {"boards": [{"items_page": self._page([i["id"] for i in rows], limit)}]}
        if "boards(limit" in query:
            return {"boards": [{"id": BOARD, "name": "Studio tasks"}]}
        if "create_webhook" in query:
            webhook_id = str(next(self.ids))
            self.webhooks[webhook_id] = {"id": webhook_id, "board_id": str(variables["b"]), "url": variables["u"],
                                         "event": variables["e"]}
            return {"create_webhook": {"id": webhook_id, "board_id": str(variables["b"])}}
        if "delete_webhook" in query:
            gone = self.webhooks.pop(str(variables["i"]), None)
            if gone is None:
                raise _Refused("Webhook not found", "ResourceNotFoundException")
            return {"delete_webhook": {"id": gone["id"], "board_id": gone["board_id"]}}
        if "create_item" in query:
            item_id = self.put(variables["n"])
            self._set(item_id, json.loads(variables["v"]), new=True)
            return {"create_item": copy.deepcopy(self.items[item_id])}
        if "change_multiple_column_values" in query:
            item_id = str(variables["i"])
            if item_id not in self.items:
                raise _Refused("Item not found", "InvalidItemIdException")
            self._set(item_id, json.loads(variables["v"]))
            return {"change_multiple_column_values": copy.deepcopy(self.items[item_id])}
        if "delete_item" in query:
            if self.items.pop(str(variables["i"]), None) is None:
                raise _Refused("Item not found", "InvalidItemIdException")
            return {"delete_item": {"id": str(variables["i"])}}
        raise _Refused("Parse error on query", "GRAPHQL_PARSE_FAILED")

    def _page(self, ids: list[str], limit: int) -> dict[str, Any]:
        head, rest = ids[:limit], ids[limit:]
        cursor = None
        if rest:
            cursor = f"MSw{len(self.cursors)}LDk3MjgwMDkw"
            self.cursors[cursor] = (rest, self.now)
        return {"cursor": cursor, "items": [copy.deepcopy(self.items[i]) for i in head if i in self.items]}

    def _set(self, item_id: str, values: dict[str, Any], new: bool = False) -> None:
        changes: dict[str, str] = {}
        for key, value in values.items():
            if key == "name":
                self.items[item_id]["name"] = value
            elif key == "status":
                if value.get("label") not in LABELS:
                    if new:
                        del self.items[item_id]
                    raise _Refused(f"This status label doesn't exist, possible statuses are: {LABELS}",
                                   "ColumnValueException")
                changes["status"] = value["label"]
            elif key == "date4":
                changes["date4"] = value.get("date", "")
            elif key == "text0":
                changes["text0"] = value
        self.touch(item_id, **changes)


class _Refused(Exception):
    pass


@pytest.fixture
def monday_fake() -> Iterator[MondayFake]:
    fake = MondayFake()
    with requests_mocked(("POST", ORIGIN + "/v2", fake.handle), ("POST", TOKEN_URL, fake.token_endpoint)):
        yield fake
