"""An in-memory provider for the sync engine's tests: a real ``ProviderAdapter``.

``MemoryCalendar`` is a provider-side store with the semantics the engine relies on
(modelled on Google Calendar's events.list sync, see
https://developers.google.com/calendar/api/guides/sync): pages of ``page_size``
changes, an opaque cursor per page, a sync cursor on the last page, deleted records
reported as removals, a cursor that can be invalidated (``CursorInvalid``, Google's
410 Gone), a version per record bumped on every write (``If-Match``:
``VersionConflict``) and the hub id stamped on objects the hub creates. Every call is
counted in ``calls``; ``fail_on_page`` makes one listing call raise (a provider error
mid-run).

``MemoryAdapter`` serves it through the adapter seam; the adapter ignores ``client``
(no HTTP). Tests register it for an existing calendar provider id with the
``memory_provider`` fixture, which patches ``integrations.providers.registry.ADAPTERS``
for that id -- every ``adapter_for`` lookup (the engine's and the client's) then finds it::

    def test_x(memory_provider):
        calendar = memory_provider("google_calendar")   # a MemoryCalendar
        calendar.put("evt1", {"summary": "Kickoff", ...})

Records use the Google Calendar Event shape (summary, description, location,
start.dateTime, end.dateTime, status, updated), so ``DEFAULT_MAPPING`` reads like the
seed's GOOGLE_CALENDAR_MAPPING.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from integrations.providers import registry
from integrations.providers.adapter import (
    ChangePage,
    Container,
    CursorInvalid,
    ProviderAdapter,
    RemoteChange,
    VersionConflict,
)

DEFAULT_MAPPING = [
    {"localEntity": "meeting", "localField": "title", "remoteField": "summary", "transform": "none"},
    {"localEntity": "meeting", "localField": "description", "remoteField": "description", "transform": "none"},
    {"localEntity": "meeting", "localField": "location", "remoteField": "location", "transform": "none"},
    {"localEntity": "meeting", "localField": "startTime", "remoteField": "start.dateTime", "transform": "date_format"},
    {"localEntity": "meeting", "localField": "endTime", "remoteField": "end.dateTime", "transform": "date_format"},
]


class ProviderDown(Exception):
    """What ``fail_on_page`` raises: the provider failed mid-listing."""


class MemoryCalendar:
    """The provider's side: records per container, a change log, cursors."""

    def __init__(self, *, page_size: int = 2, containers: tuple[str, ...] = ("primary",)):
        self.page_size = page_size
        self.containers = containers
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.log: list[tuple[int, str, str]] = []  # (sequence, container, remote id)
        self.seq = itertools.count(1)
        self.ids = itertools.count(1)
        self.lock = threading.RLock()
        self.valid_from = 0  # cursors older than this sequence are refused (CursorInvalid)
        self.calls: list[tuple] = []
        self.fail_on_page: int | None = None  # 1-based listing call that raises ProviderDown

    # ------------------------------------------------------------------ the remote user's edits
    def put(self, remote_id: str | None = None, fields: Mapping[str, Any] | None = None, *,
            container: str = "primary", hub_id: str | None = None) -> str:
        """Create or replace a record as someone editing the calendar would."""
        with self.lock:
            remote_id = remote_id or f"evt{next(self.ids)}"
            old = self.records.get((container, remote_id))
            version = (old["version"] + 1) if old else 1
            self.records[(container, remote_id)] = {
                "raw": {**copy.deepcopy(dict(fields or {})), "id": remote_id, "status": "confirmed",
                        "updated": datetime.now(UTC).isoformat()},
                "version": version, "deleted": False,
                "hub_id": hub_id if hub_id is not None else (old or {}).get("hub_id"),
                "modified_at": datetime.now(UTC),
            }
            self.log.append((next(self.seq), container, remote_id))
            return remote_id

    def edit(self, remote_id: str, container: str = "primary", **fields: Any) -> None:
        with self.lock:
            raw = {k: v for k, v in self.get(remote_id, container).items() if k not in ("id", "status", "updated")}
            raw.update(fields)
            self.put(remote_id, raw, container=container)

    def remove(self, remote_id: str, container: str = "primary") -> None:
        with self.lock:
            record = self.records[(container, remote_id)]
            record["deleted"] = True
            record["version"] += 1
            record["raw"] = {**record["raw"], "status": "cancelled"}
            self.log.append((next(self.seq), container, remote_id))

    def forget_history(self) -> None:
        """Every cursor issued so far becomes invalid (Google's 410 Gone)."""
        with self.lock:
            self.valid_from = next(self.seq)

    # ------------------------------------------------------------------ reading it back
    def get(self, remote_id: str, container: str = "primary") -> dict[str, Any]:
        return copy.deepcopy(self.records[(container, remote_id)]["raw"])

    def live(self, container: str = "primary") -> dict[str, dict[str, Any]]:
        return {rid: copy.deepcopy(r["raw"]) for (c, rid), r in self.records.items() if c == container and not r["deleted"]}

    def version(self, remote_id: str, container: str = "primary") -> str:
        return str(self.records[(container, remote_id)]["version"])

    def hub_id(self, remote_id: str, container: str = "primary") -> str | None:
        return self.records[(container, remote_id)]["hub_id"]

    def writes(self) -> list[tuple]:
        return [c for c in self.calls if c[0] in ("create", "update", "delete")]

    # ------------------------------------------------------------------ the API the adapter calls
    def _change(self, container: str, remote_id: str) -> RemoteChange:
        record = self.records[(container, remote_id)]
        return RemoteChange(
            remote_id=remote_id, deleted=record["deleted"], version=str(record["version"]),
            raw=copy.deepcopy(record["raw"]), modified_at=record["modified_at"], hub_id=record["hub_id"],
        )

    def list_changes(self, container: str, cursor: str | None) -> ChangePage:
        """Cursor "s:<seq>" = changes after that sequence; "p:<seq>:<offset>:<upto>" = the next page."""
        with self.lock:
            self.calls.append(("list", container, cursor))
            listing_calls = sum(1 for c in self.calls if c[0] == "list")
            if self.fail_on_page is not None and listing_calls == self.fail_on_page:
                raise ProviderDown(f"listing call {listing_calls} failed")
            upto = self.log[-1][0] if self.log else 0
            if cursor is None:  # a full listing: the live records, no removals (as Google without showDeleted)
                since, offset, full = 0, 0, True
            else:
                kind, *parts = cursor.split(":")
                since, offset = int(parts[0]), int(parts[1]) if kind == "p" else 0
                full = kind == "p" and parts[3] == "full"
                if kind == "p":
                    upto = int(parts[2])
                if since and since < self.valid_from:
                    raise CursorInvalid("the sync token is no longer valid (410 Gone)")
            if full:
                ids = sorted(rid for (c, rid), r in self.records.items() if c == container and not r["deleted"])
            else:
                seen: dict[str, None] = {}
                for seq, c, rid in self.log:
                    if since < seq <= upto and c == container:
                        seen.pop(rid, None)
                        seen[rid] = None
                ids = list(seen)
            chunk = ids[offset:offset + self.page_size]
            changes = tuple(self._change(container, rid) for rid in chunk)
            if offset + self.page_size < len(ids):
                return ChangePage(changes, f"p:{since}:{offset + self.page_size}:{upto}:{'full' if full else 'inc'}", False)
            return ChangePage(changes, f"s:{upto}", True)

    def create(self, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        with self.lock:
            self.calls.append(("create", container, hub_id))
            remote_id = self.put(None, record, container=container, hub_id=hub_id)
            return self._change(container, remote_id)

    def update(self, container: str, remote_id: str, record: Mapping[str, Any], version: str | None) -> RemoteChange:
        with self.lock:
            self.calls.append(("update", container, remote_id, version))
            current = self.records.get((container, remote_id))
            if current is None or current["deleted"]:
                raise VersionConflict(f"{remote_id} is gone")
            if version is not None and version != str(current["version"]):
                raise VersionConflict(f"{remote_id}: version {version} is stale (412 Precondition Failed)")
            merged = {k: v for k, v in current["raw"].items() if k not in ("id", "status", "updated")}
            merged.update(copy.deepcopy(dict(record)))  # a PATCH: fields not sent stay
            self.put(remote_id, merged, container=container)
            return self._change(container, remote_id)

    def delete(self, container: str, remote_id: str, version: str | None) -> None:
        with self.lock:
            self.calls.append(("delete", container, remote_id, version))
            current = self.records.get((container, remote_id))
            if current is None or current["deleted"]:
                return  # already gone: not an error
            if version is not None and version != str(current["version"]):
                raise VersionConflict(f"{remote_id}: version {version} is stale (412 Precondition Failed)")
            self.remove(remote_id, container)


class MemoryAdapter(ProviderAdapter):
    """The adapter seam over a :class:`MemoryCalendar` (bound by :func:`memory_adapter_for`)."""

    calendar: MemoryCalendar

    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        return [dict(m) for m in DEFAULT_MAPPING] if local_type == "meeting" else []

    def settings_errors(self, value: Mapping[str, Any]) -> dict[str, list[str]]:
        return {}

    def list_containers(self, client) -> list[Container]:
        return [Container(c, c, primary=(i == 0)) for i, c in enumerate(self.calendar.containers)]

    def list_changes(self, client, *, container: str, cursor: str | None) -> ChangePage:
        return self.calendar.list_changes(container, cursor)

    def push_create(self, client, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        return self.calendar.create(container, record, hub_id)

    def push_update(self, client, *, container: str, remote_id: str, record: Mapping[str, Any],
                    version: str | None) -> RemoteChange:
        return self.calendar.update(container, remote_id, record, version)

    def push_delete(self, client, *, container: str, remote_id: str, version: str | None) -> None:
        self.calendar.delete(container, remote_id, version)


def memory_adapter_for(calendar: MemoryCalendar) -> type[MemoryAdapter]:
    return type("BoundMemoryAdapter", (MemoryAdapter,), {"calendar": calendar})


@pytest.fixture
def memory_provider(monkeypatch) -> Iterator[Callable[..., MemoryCalendar]]:
    """``memory_provider(provider_id, **options)`` -> a MemoryCalendar served as that provider's adapter."""

    def install(provider_id: str = "google_calendar", **options: Any) -> MemoryCalendar:
        calendar = MemoryCalendar(**options)
        monkeypatch.setitem(registry.ADAPTERS, provider_id, memory_adapter_for(calendar))
        return calendar

    yield install
