"""The three-way merge of a record changed on both sides (issue 11 item 5).

``base`` is what both sides agreed on at the last sync (``ExternalLink.last_synced``),
``local`` and ``remote`` are the current values, all in the local record's shape
(camelCase fields, as ``Mapping.to_local`` returns them). A field changed on one side
only takes that side's value; a field changed on both sides to different values is a
conflict, decided by the integration's ``conflictPolicy``:

* ``newest_wins`` (default): the side modified last (the remote ``modified_at`` against
  the local ``updated_at``); remote when either time is unknown;
* ``remote_wins`` / ``local_wins``.

Values are compared as values, not text: two ISO 8601 strings naming the same instant
(``10:00+02:00`` and ``08:00Z``) are equal, and so are the empty ones (missing, null, "",
[], {}: a provider omits what a local record holds as an empty string or list).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

NEWEST_WINS, REMOTE_WINS, LOCAL_WINS = "newest_wins", "remote_wins", "local_wins"


def _normal(value: Any) -> Any:
    if value is None or value == "" or value == [] or value == {}:
        return None  # empty is empty: a provider omits what a local record holds as "" or []
    if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-" and "T" in value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return parsed if parsed.tzinfo else value
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def same(a: Any, b: Any) -> bool:
    return a == b or _normal(a) == _normal(b)


def identity(values: Mapping[str, Any]) -> str:
    """A key equal for two records that are ``same`` field by field (empty fields left out,
    instants in UTC): what pairs an event with an unlinked meeting holding the same values."""
    def plain(value: Any) -> Any:
        value = _normal(value)
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return json.dumps({k: plain(v) for k, v in values.items() if _normal(v) is not None}, sort_keys=True,
                      default=str)


@dataclass(frozen=True)
class Conflict:
    field: str
    local: Any
    remote: Any
    base: Any
    winner: str  # "local" | "remote"

    def as_log(self) -> dict[str, Any]:
        return {"field": self.field, "localValue": self.local, "remoteValue": self.remote,
                "baseValue": self.base, "winner": self.winner}


@dataclass(frozen=True)
class MergeResult:
    merged: dict[str, Any]
    to_local: dict[str, Any]  # fields the local record must take
    to_remote: dict[str, Any]  # fields the remote record must take (local won or changed alone)
    conflicts: list[Conflict] = field(default_factory=list)


def conflict_winner(*, policy: str, local_modified: datetime | None, remote_modified: datetime | None) -> str:
    if policy == LOCAL_WINS:
        return "local"
    if policy == REMOTE_WINS:
        return "remote"
    if local_modified is not None and remote_modified is not None and local_modified > remote_modified:
        return "local"
    return "remote"


def three_way(*, base: Mapping[str, Any], local: Mapping[str, Any], remote: Mapping[str, Any], policy: str,
              local_modified: datetime | None, remote_modified: datetime | None) -> MergeResult:
    merged: dict[str, Any] = {}
    to_local: dict[str, Any] = {}
    to_remote: dict[str, Any] = {}
    conflicts: list[Conflict] = []
    for name in dict.fromkeys([*remote, *local]):
        b, lv, rv = base.get(name), local.get(name), remote.get(name)
        local_changed, remote_changed = not same(lv, b), not same(rv, b)
        if same(lv, rv):
            merged[name] = lv
            continue
        if remote_changed and not local_changed:
            winner = "remote"
        elif local_changed and not remote_changed:
            winner = "local"
        else:  # both changed (or no base yet: a first link of two existing records)
            winner = conflict_winner(policy=policy, local_modified=local_modified, remote_modified=remote_modified)
            conflicts.append(Conflict(name, lv, rv, b, winner))
        if winner == "remote":
            merged[name] = to_local[name] = rv
        else:
            merged[name] = to_remote[name] = lv
    return MergeResult(merged, to_local, to_remote, conflicts)
