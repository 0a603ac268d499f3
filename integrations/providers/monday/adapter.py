"""monday.com's adapter: the OAuth token goes in Authorization without a scheme, every call
pins an API version, and the test call is a GraphQL query whose errors come back with 200.
The sync seam: board items <-> tasks through the GraphQL API v2
(https://developer.monday.com/api-reference/docs/basics).

- **Container**: the board chosen in settings (``boardId``); ``list_containers`` lists boards.
  The settings also name the board's columns (``columns``: ``status``, ``dueDate``,
  ``description`` -> column ids) and the status labels (``statusLabels``: task status -> label);
  ``settings_values`` hands them to every call as connection values.
- **Changes**: ``boards(ids:[B]) { items_page(limit, query_params: {rules: [{column_id:
  "__last_updated__", compare_value: ["EXACT", day], operator: greater_than, compare_attribute:
  "UPDATED_AT"}]}) { cursor items {...} } }`` then ``next_items_page(cursor)``
  (https://developer.monday.com/api-reference/reference/items-page ,
  .../docs/last-updated). The filter is by day, so the next run asks for items updated after
  the day before the newest ``updated_at`` seen (re-reading a day is harmless). monday's cursor
  lives 60 minutes: a refused cursor raises ``CursorInvalid`` (relist and reconcile).
- **Records**: ``raw`` is the item (``id``, ``name``, ``updated_at``, ``column_values``) plus
  ``hub_status`` (the task status whose label the status column shows), ``hub_due``
  (``YYYY-MM-DD``) and ``hub_description`` from the chosen columns.
- **Writes**: ``create_item(board_id, item_name, column_values)``,
  ``change_multiple_column_values(board_id, item_id, column_values)`` (``name`` included),
  ``delete_item(item_id)``; column values as JSON (status ``{"label"}``, date ``{"date"}``,
  text a string).
- **Complexity budget** (https://developer.monday.com/api-reference/docs/rate-limits): every
  query asks for ``complexity { after reset_in_x_seconds }``; when what is left is below
  ``MIN_BUDGET`` the adapter waits for the reset before the next query, and a
  ``COMPLEXITY_BUDGET_EXHAUSTED`` answer (429) is waited out (``retry_in_seconds``, at most
  ``MAX_WAIT``) and asked again.
- **Errors**: 401 -> ``CredentialsRefused``; 5xx retried by the client (queries are sent as
  idempotent; mutations are not retried); GraphQL ``errors`` (also with 200) -> ``MondayError``
  with monday's code (a failed item on export).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Mapping
from datetime import UTC, timedelta
from typing import Any

from django.conf import settings as django_settings
from django.utils.translation import gettext as _

from integrations.providers.adapter import (
    Answer,
    Caller,
    ChangePage,
    Container,
    CredentialsRefused,
    CursorInvalid,
    PageSetting,
    ProviderAdapter,
    RemoteChange,
    TestCall,
    cursor_state,
    cursor_text,
)
from integrations.providers.common import AnswerError, field_mappings, instant

API_VERSION = "2025-04"
PAGE_SIZE = 100  # items_page allows up to 500
MIN_BUDGET = 100_000  # complexity points kept in hand before a query
MAX_WAIT = 60.0
#: Board id -> when (monotonic) its account's complexity budget resets, after an answer that left
#: less than MIN_BUDGET. Per process: each worker process learns it from its own answers.
BUDGET_UNTIL: dict[str, float] = {}
TASK_STATUSES = ("todo", "in_progress", "done", "cancelled")
DEFAULT_LABELS = {"todo": "", "in_progress": "Working on it", "done": "Done", "cancelled": "Stuck"}
ITEM_FIELDS = "id name updated_at column_values { id type text value }"

TASK_MAPPING: list[dict[str, Any]] = field_mappings("task", {"title": "name", "status": "hub_status",
                                                             "description": "hub_description"})


class MondayError(AnswerError):
    """An answer the sync cannot use: the status and monday's error code (never the token)."""

    provider = "monday.com"

    def __init__(self, what: str, response: Answer | None = None, code: str = "") -> None:
        self.code = code[:60]
        super().__init__(what, response.status if response is not None else 0, self.code)


#: The board events that change a task (https://developer.monday.com/api-reference/reference/webhooks).
HOOK_EVENTS = ("create_item", "change_column_value", "change_name", "item_deleted", "item_archived")


class MondayAdapter(ProviderAdapter):
    clock = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)
    #: Board webhooks (https://developer.monday.com/api-reference/docs/webhooks): the
    #: ``{"challenge"}`` check is echoed (the monday_jwt scheme's handshake), events wake an
    #: incremental run (the body is not trusted; the run re-reads the board). The URL carries the
    #: integration's secret; with an app signing secret configured (MONDAY_APP_SIGNING_SECRET) the
    #: HS256 JWT in Authorization is required as well.
    receives_hooks = True
    hook_url_secret = True

    def hook_secrets(self, values: Mapping[str, Any]) -> list[str]:
        secret = getattr(django_settings, "MONDAY_APP_SIGNING_SECRET", "")
        return [secret] if secret else []

    def hook_register(self, client: Caller, *, container: str, url: str) -> list[str]:
        """One ``create_webhook`` per event the task pair needs
        (https://developer.monday.com/api-reference/reference/webhooks); monday POSTs the
        ``challenge`` to the URL before it answers."""
        board = _board(container)
        ids = []
        for event in HOOK_EVENTS:
            data = self._graphql(client, "mutation ($b: ID!, $u: String!, $e: WebhookEventType!) { create_webhook("
                                         "board_id: $b, url: $u, event: $e) { id board_id } }",
                                 {"b": board, "u": url, "e": event}, board=board)
            ids.append(str((data.get("create_webhook") or {}).get("id") or ""))
        return [i for i in ids if i]

    def hook_unregister(self, client: Caller, *, container: str, ids: list[str]) -> None:
        for webhook_id in ids:
            try:
                self._graphql(client, "mutation ($i: ID!) { delete_webhook(id: $i) { id board_id } }",
                              {"i": webhook_id}, board=container)
            except MondayError as exc:
                if exc.code not in ("ResourceNotFoundException", "InvalidArgumentException"):
                    raise

    page_settings = (PageSetting("boardId", "pick", "containers"),
                     *(PageSetting(f"columns.{c}", "pick", "columns", after="boardId")
                       for c in ("status", "dueDate", "description")),
                     *(PageSetting(f"statusLabels.{s}", "text") for s in TASK_STATUSES))

    def oauth_headers(self, access_token: str) -> dict[str, str]:
        return {"Authorization": access_token, "API-Version": API_VERSION}

    def test_call(self, values: Mapping[str, Any]) -> TestCall | None:
        call = super().test_call(values)
        return call and TestCall(call.method, call.path, {"json": {"query": "{ me { id name } }"}, "idempotent": True})

    def test_ok(self, response: Answer) -> bool:
        return response.ok and isinstance(response.data, dict) and not response.data.get("errors")

    # ------------------------------------------------------------------ settings
    def settings_defaults(self) -> dict[str, Any]:
        return {"boardId": "", "columns": {"status": "", "dueDate": "", "description": ""},
                "statusLabels": dict(DEFAULT_LABELS), "autoCreateTasks": True}

    def settings_errors(self, value: Mapping[str, Any]) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        for key, item in value.items():
            if key == "boardId":
                if not isinstance(item, str) or not (item == "" or item.isdigit()):
                    errors[key] = [_("a board id (digits)")]
            elif key == "columns":
                if not isinstance(item, dict) or set(item) - {"status", "dueDate", "description"} or not all(
                        isinstance(v, str) and len(v) <= 100 for v in item.values()):
                    errors[key] = [_("column ids for status, dueDate and description")]
            elif key == "statusLabels":
                if not isinstance(item, dict) or set(item) - set(TASK_STATUSES) or not all(
                        isinstance(v, str) and len(v) <= 100 for v in item.values()):
                    errors[key] = [_("labels for: %(statuses)s") % {"statuses": ", ".join(TASK_STATUSES)}]
                elif _shared_labels(item):  # an imported item's label would name two statuses
                    errors[key] = [_("each status needs a label of its own: %(statuses)s")
                                   % {"statuses": ", ".join(_shared_labels(item))}]
            elif key == "autoCreateTasks":
                if not isinstance(item, bool):
                    errors[key] = [_("must be true or false")]
            else:
                errors[str(key)[:60]] = [_("unknown setting")]
        return errors

    def settings_values(self, settings: Mapping[str, Any]) -> dict[str, str]:
        return {"mondayColumns": json.dumps(settings.get("columns") or {}),
                "mondayLabels": json.dumps(settings.get("statusLabels") or DEFAULT_LABELS)}

    def sync_containers(self, settings: Mapping[str, Any]) -> tuple[str, ...] | None:
        board = settings.get("boardId")
        return (str(board),) if board else None

    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        return copy.deepcopy(TASK_MAPPING) if (local_type, remote_type) == ("task", "item") else []

    def list_containers(self, client: Caller) -> list[Container]:
        data = self._graphql(client, "query { boards(limit: 100, state: active) { id name } }", query=True)
        return [Container(id=str(b["id"]), name=str(b.get("name") or b["id"]))
                for b in data.get("boards") or [] if isinstance(b, dict) and b.get("id")]

    def setting_choices(self, client: Caller, source: str, settings: Mapping[str, Any]) -> list[Container]:
        if source != "columns":
            return super().setting_choices(client, source, settings)
        board = str(settings.get("boardId") or "")
        if not board.isdigit():
            return []  # no board chosen yet: no columns to offer
        data = self._graphql(client, "query ($b: [ID!]) { boards(ids: $b) { columns { id title type } } }",
                             {"b": [board]}, query=True, board=board)
        boards = data.get("boards") or []
        columns = (boards[0] or {}).get("columns") or [] if boards else []
        return [Container(id=str(c["id"]), name=str(c.get("title") or c["id"]), raw={"type": c.get("type")})
                for c in columns if isinstance(c, dict) and c.get("id")]

    # ------------------------------------------------------------------ changes
    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        board = _board(container)
        state = _decode(cursor)
        if state.get("page"):
            data = self._graphql(client, f"query ($c: String!) {{ next_items_page(limit: {PAGE_SIZE}, cursor: $c) "
                                         f"{{ cursor items {{ {ITEM_FIELDS} }} }} }}",
                                 {"c": state["page"]}, query=True, cursor=True, board=board)
            page = data.get("next_items_page") or {}
        else:
            rules = ""
            if state.get("since"):
                rules = (', query_params: {rules: [{column_id: "__last_updated__", compare_value: ["EXACT", '
                         f'{json.dumps(state["since"])}], operator: greater_than, compare_attribute: "UPDATED_AT"}}]}}')
            data = self._graphql(client, f"query {{ boards(ids: [{board}]) {{ items_page(limit: {PAGE_SIZE}{rules}) "
                                         f"{{ cursor items {{ {ITEM_FIELDS} }} }} }} }}", query=True, board=board)
            boards = data.get("boards") or []
            if not boards:
                raise MondayError(f"board {board} not found (or not shared with the connection)")
            page = boards[0].get("items_page") or {}
        items = [i for i in page.get("items") or [] if isinstance(i, dict) and i.get("id")]
        columns, labels = _columns(client), _labels(client)
        changes = tuple(_change(i, columns, labels) for i in items)
        top = max([state.get("top") or "", *(str(i.get("updated_at") or "") for i in items)])
        if page.get("cursor") and items:
            return ChangePage(changes, _encode(since=state.get("since"), page=page["cursor"], top=top), done=False)
        return ChangePage(changes, _encode(since=_day_before(top) or state.get("since"), top=top), done=True)

    # ------------------------------------------------------------------ writes
    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        board = _board(container)
        values = _column_values(record, _columns(client), _labels(client))
        data = self._graphql(client, "mutation ($b: ID!, $n: String!, $v: JSON!) { create_item(board_id: $b, "
                                     f"item_name: $n, column_values: $v) {{ {ITEM_FIELDS} }} }}",
                             {"b": board, "n": str(record.get("name") or "")[:255], "v": json.dumps(values)}, board=board)
        return _change(data.get("create_item") or {}, _columns(client), _labels(client))

    def push_update(self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
                    version: str | None) -> RemoteChange:
        board = _board(container)
        values = _column_values(record, _columns(client), _labels(client))
        if record.get("name"):
            values["name"] = str(record["name"])[:255]
        data = self._graphql(client, "mutation ($b: ID!, $i: ID!, $v: JSON!) { change_multiple_column_values("
                                     f"board_id: $b, item_id: $i, column_values: $v) {{ {ITEM_FIELDS} }} }}",
                             {"b": board, "i": remote_id, "v": json.dumps(values)}, board=board)
        return _change(data.get("change_multiple_column_values") or {}, _columns(client), _labels(client))

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        try:
            self._graphql(client, "mutation ($i: ID!) { delete_item(item_id: $i) { id } }", {"i": remote_id},
                          board=container)
        except MondayError as exc:
            if exc.code not in ("InvalidItemIdException", "ResourceNotFoundException"):
                raise

    # ------------------------------------------------------------------ one GraphQL call
    def _graphql(self, client: Caller, text: str, variables: dict[str, Any] | None = None, *,
                 query: bool = False, cursor: bool = False, board: str = "") -> dict[str, Any]:
        until = BUDGET_UNTIL.get(board, 0.0)
        if until > self.clock():  # the last answer for this board said the budget is nearly spent
            self.sleep(min(until - self.clock(), MAX_WAIT))
            BUDGET_UNTIL.pop(board, None)
        body = {"query": _with_complexity(text), "variables": variables or {}}
        for _attempt in range(3):
            response = client.request("POST", "/v2", json=body, idempotent=query)
            if response.status == 401:
                raise CredentialsRefused("monday.com refused the token: reconnect monday.com")
            data = response.data if isinstance(response.data, dict) else {}
            errors = [e for e in data.get("errors") or [] if isinstance(e, dict)]
            codes = [str((e.get("extensions") or {}).get("code") or "") for e in errors]
            if "COMPLEXITY_BUDGET_EXHAUSTED" in codes or (response.status == 429 and not errors):
                ext = errors[codes.index("COMPLEXITY_BUDGET_EXHAUSTED")].get("extensions") if errors else {}
                self.sleep(min(float((ext or {}).get("retry_in_seconds") or 10), MAX_WAIT))
                continue
            if errors:
                code = codes[0] or str(errors[0].get("message") or "")[:60]
                if cursor and any("cursor" in str(e.get("message") or "").lower() for e in errors):
                    raise CursorInvalid("monday.com no longer accepts the items_page cursor")
                raise MondayError("GraphQL error", response, code)
            if not response.ok:
                raise MondayError("call", response)
            result = data.get("data") if isinstance(data.get("data"), dict) else {}
            budget = result.get("complexity") or {}
            if isinstance(budget.get("after"), int) and budget["after"] < MIN_BUDGET:
                BUDGET_UNTIL[board] = self.clock() + float(budget.get("reset_in_x_seconds") or 0)
            return result
        raise MondayError("complexity budget still exhausted after waiting", None, "COMPLEXITY_BUDGET_EXHAUSTED")


# ---------------------------------------------------------------------- helpers
def _with_complexity(text: str) -> str:
    """Ask for the complexity budget in the same query (a top-level field beside the others)."""
    head, brace, rest = text.partition("{")
    return f"{head}{brace} complexity {{ before after reset_in_x_seconds }} {rest}"


def _board(container: str) -> str:
    if not container.isdigit():
        raise MondayError("no board chosen in the settings (boardId)")
    return container


def _columns(client: Caller) -> dict[str, str]:
    try:
        value = json.loads(str(client.values.get("mondayColumns") or "{}"))
    except ValueError:
        value = {}
    return {k: v for k, v in value.items() if isinstance(v, str) and v} if isinstance(value, dict) else {}


def _shared_labels(labels: Mapping[str, str]) -> list[str]:
    """The statuses whose (non-empty) label another status has too."""
    seen: dict[str, list[str]] = {}
    for status, label in labels.items():
        if label.strip():
            seen.setdefault(label.strip().casefold(), []).append(status)
    return [status for group in seen.values() if len(group) > 1 for status in group]


def _labels(client: Caller) -> dict[str, str]:
    try:
        value = json.loads(str(client.values.get("mondayLabels") or "{}"))
    except ValueError:
        value = {}
    return value if isinstance(value, dict) and value else dict(DEFAULT_LABELS)


def _change(item: Mapping[str, Any], columns: dict[str, str], labels: dict[str, str]) -> RemoteChange:
    if not item.get("id"):
        raise MondayError("the answer named no item")
    raw = copy.deepcopy(dict(item))
    by_id = {c.get("id"): c for c in raw.get("column_values") or [] if isinstance(c, dict)}
    if columns.get("status"):
        label = str((by_id.get(columns["status"]) or {}).get("text") or "")
        raw["hub_status"] = next((s for s, text in labels.items() if text == label), "todo")
    if columns.get("dueDate"):
        raw["hub_due"] = (by_id.get(columns["dueDate"]) or {}).get("text") or None
    if columns.get("description"):
        raw["hub_description"] = str((by_id.get(columns["description"]) or {}).get("text") or "")
    return RemoteChange(remote_id=str(raw["id"]), deleted=False, raw=raw,
                        modified_at=instant(raw.get("updated_at"), naive_utc=True))


def _column_values(record: Mapping[str, Any], columns: dict[str, str], labels: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if columns.get("status") and record.get("hub_status") in labels:
        values[columns["status"]] = {"label": labels[record["hub_status"]]}
    if columns.get("dueDate") and "hub_due" in record:
        due = str(record.get("hub_due") or "")[:10]
        values[columns["dueDate"]] = {"date": due} if due else {}
    if columns.get("description") and "hub_description" in record:
        values[columns["description"]] = str(record.get("hub_description") or "")
    return values


def _day_before(text: str) -> str | None:
    when = instant(text, naive_utc=True)
    return (when.astimezone(UTC).date() - timedelta(days=1)).isoformat() if when else None


def _encode(**state: Any) -> str:
    return cursor_text(drop_empty=True, **state)


def _decode(cursor: str | None) -> dict[str, Any]:
    if cursor is None:
        return {}
    return cursor_state(cursor, "monday.com")
