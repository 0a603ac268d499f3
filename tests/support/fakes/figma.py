"""A fake Figma REST API on 127.0.0.1, answering in the shapes of the API reference's examples
(https://developers.figma.com/docs/rest-api/projects-endpoints/ and .../file-endpoints/):

- ``GET /v1/teams/{team_id}/projects`` -> ``{"name": <team>, "projects": [{"id", "name"}]}``
- ``GET /v1/projects/{project_id}/files`` -> ``{"name": <project>, "files": [{"key", "name",
  "thumbnail_url", "last_modified"}]}``
- ``GET /v1/files/{key}/meta`` -> ``{"file": {"name", "folder_name", "last_touched_at",
  "creator", "last_touched_by", "thumbnail_url", "editorType", "role", "link_access", "url",
  "version"}}``; unknown -> 404 ``{"status": 404, "err": "Not found"}``
- errors: ``{"status", "err"}``; a bad token -> 403 ``{"status": 403, "err": "Invalid token"}``
  (https://developers.figma.com/docs/rest-api/errors/); 429 with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.fakes.base import FakeServer, running

TOKEN = "figma-at-1"


class FakeFigma(FakeServer):
    name = "fake-figma"

    def __init__(self) -> None:
        self.teams: dict[str, list[str]] = {}
        self.projects: dict[str, dict[str, dict[str, Any]]] = {}
        self.requests: list[tuple[str, str, int]] = []
        self._failures: list[tuple[str | None, int, Any, dict]] = []
        self._minute = 0

    def put(self, project_id: str, key: str, name: str) -> dict[str, Any]:
        self._minute += 1
        item = {"key": key, "name": name, "thumbnail_url": f"https://s3-alpha.figma.com/thumbnails/{key}.png",
                "last_modified": f"2026-11-30T10:{self._minute:02d}:00Z"}
        self.projects.setdefault(project_id, {})[key] = item
        return item

    def fail_next(self, status: int, body: Any, *, path: str | None = None, headers: dict | None = None) -> None:
        self._failures.append((path, status, body, headers or {}))

    def count(self, path: str | None = None, status: int | None = None) -> int:
        return sum(1 for r in self.requests if (path is None or r[1] == path) and (status is None or r[2] == status))

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, dict]:
        path = urlsplit(target).path
        status, data, extra = self._answer(path, headers)
        self.requests.append((method, path, status))
        return status, data, extra

    def _answer(self, path: str, headers: dict[str, str]) -> tuple[int, Any, dict]:
        for failure in list(self._failures):
            if failure[0] in (None, path):
                self._failures.remove(failure)
                return failure[1], failure[2], failure[3]
        if headers.get("authorization") != f"Bearer {TOKEN}":
            return 403, {"status": 403, "err": "Invalid token"}, {}
        parts = [p for p in path.split("/") if p]
        if len(parts) == 4 and parts[:2] == ["v1", "teams"] and parts[3] == "projects":
            return 200, {"name": "Studio", "projects": [{"id": p, "name": f"Project {p}"}
                                                        for p in self.teams.get(parts[2], [])]}, {}
        if len(parts) == 4 and parts[:2] == ["v1", "projects"] and parts[3] == "files":
            if parts[2] not in self.projects:
                return 404, {"status": 404, "err": "Not found"}, {}
            return 200, {"name": f"Project {parts[2]}", "files": list(self.projects[parts[2]].values())}, {}
        if len(parts) == 4 and parts[:2] == ["v1", "files"] and parts[3] == "meta":
            item = next((f for files in self.projects.values() for k, f in files.items() if k == parts[2]), None)
            if item is None:
                return 404, {"status": 404, "err": "Not found"}, {}
            return 200, {"file": {"name": item["name"], "folder_name": "Project", "last_touched_at": item["last_modified"],
                                  "creator": {"id": "1", "handle": "Dana"}, "last_touched_by": {"id": "1", "handle": "Dana"},
                                  "thumbnail_url": item["thumbnail_url"], "editorType": "figma", "role": "owner",
                                  "link_access": "view", "url": f"https://www.figma.com/design/{parts[2]}",
                                  "version": "1"}}, {}
        return 404, {"status": 404, "err": "Not found"}, {}


@pytest.fixture
def figma_fake() -> Iterator[FakeFigma]:
    with running(FakeFigma()) as fake:
        yield fake
