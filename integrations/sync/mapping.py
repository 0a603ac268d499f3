"""Field mappings and filters — placeholder until mapcfg lands.

The mapping engine is helper "mapcfg"'s file; this minimal stand-in keeps the exact
API of /work/wt/SYNC.md so the sync engine can be written and tested meanwhile:
dot paths (``start.dateTime``), list items (``attendees[].email``), ``defaultValue``,
transform ``none`` (other transforms pass values through unchanged here), and the
four filter operators. It is replaced wholesale at merge.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass
class MappingContext:
    tz: str = "Asia/Jerusalem"
    on_date: date | None = None
    notes: list = field(default_factory=list)


_MISSING = object()


def _get(record: Any, path: str) -> Any:
    head, _, rest = path.partition(".")
    if head.endswith("[]"):
        items = record.get(head[:-2]) if isinstance(record, MappingABC) else None
        if not isinstance(items, list):
            return _MISSING
        if not rest:
            return list(items)
        values = [_get(item, rest) for item in items]
        return [v for v in values if v is not _MISSING]
    if not isinstance(record, MappingABC) or head not in record:
        return _MISSING
    value = record[head]
    return value if not rest else _get(value, rest)


def _set(record: dict, path: str, value: Any) -> None:
    head, _, rest = path.partition(".")
    if head.endswith("[]"):
        name = head[:-2]
        if not isinstance(value, list):
            value = [] if value is None else [value]
        if not rest:
            record[name] = list(value)
            return
        items = record.setdefault(name, [])
        while len(items) < len(value):
            items.append({})
        for item, one in zip(items, value, strict=False):
            _set(item, rest, one)
        return
    if not rest:
        record[head] = value
        return
    _set(record.setdefault(head, {}), rest, value)


@dataclass(frozen=True)
class Mapping:
    rules: tuple[dict, ...]

    def to_remote(self, local: MappingABC, ctx: MappingContext) -> dict:
        out: dict = {}
        for rule in self.rules:
            value = _get(local, rule["localField"])
            if value is _MISSING or value in (None, ""):
                value = rule.get("defaultValue", None if value is _MISSING else value)
            _set(out, rule["remoteField"], value)
        return out

    def to_local(self, remote: MappingABC, ctx: MappingContext) -> dict:
        out: dict = {}
        for rule in self.rules:
            value = _get(remote, rule["remoteField"])
            if value is _MISSING or value in (None, ""):
                value = rule.get("defaultValue", None if value is _MISSING else value)
            _set(out, rule["localField"], value)
        return out


def compile_mappings(raw: list[dict], *, local_type: str, defaults: list[dict]) -> Mapping:
    mine = [dict(r) for r in raw or [] if r.get("localEntity", local_type) == local_type]
    return Mapping(tuple(mine or [dict(r) for r in defaults]))


@dataclass(frozen=True)
class Filters:
    rules: tuple[dict, ...]

    def matches(self, record: MappingABC) -> bool:
        for rule in self.rules:
            value = _get(record, rule["field"])
            value = None if value is _MISSING else value
            op, expected = rule["operator"], rule["value"]
            if op == "equals" and value != expected:
                return False
            if op == "not_equals" and value == expected:
                return False
            if op == "contains" and (not isinstance(value, str) or str(expected) not in value):
                return False
            if op == "in_list" and value not in (expected or []):
                return False
        return True


def compile_filters(raw: list[dict]) -> Filters:
    return Filters(tuple(dict(r) for r in raw or []))
