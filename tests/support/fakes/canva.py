"""A fake Canva Connect API on 127.0.0.1, answering in the shapes of the API reference's example
responses:

- List designs, https://www.canva.dev/docs/connect/api-reference/designs/list-designs/ :
  ``GET /rest/v1/designs?ownership=&sort_by=&continuation=`` -> ``{"continuation"?, "items":
  [{"id", "title", "owner": {"user_id", "team_id"}, "thumbnail": {"width", "height", "url"},
  "urls": {"edit_url", "view_url"}, "created_at", "updated_at", "page_count"}]}`` (times are
  Unix seconds; ``continuation`` only while more remain).
- Get design, https://www.canva.dev/docs/connect/api-reference/designs/get-design/ :
  ``GET /rest/v1/designs/{designId}`` -> ``{"design": {...as above}}``; unknown -> 404
  ``{"code": "design_not_found", "message": ...}``.
- Create / get design export job,
  https://www.canva.dev/docs/connect/api-reference/exports/create-design-export-job/ and
  .../get-design-export-job/ : ``POST /rest/v1/exports {"design_id", "format": {"type"}}`` ->
  ``{"job": {"id", "status": "in_progress"}}``; ``GET /rest/v1/exports/{exportId}`` ->
  ``{"job": {"id", "status": "success", "urls": [...]}}`` (after ``polls_until_done`` reads) or
  ``{"job": {"id", "status": "failed", "error": {"code", "message"}}}``.
- Errors (https://www.canva.dev/docs/connect/error-responses/): ``{"code", "message"}``; 401
  ``invalid_access_token`` without ``Authorization: Bearer <token>``.

Chosen here: a page holds ``page_size`` designs; continuations are opaque and ``reset`` makes
old ones answer 400 ``invalid_field``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.fakes.base import FakeServer, running

TOKEN = "canva-at-1"


class FakeCanva(FakeServer):
    name = "fake-canva"

    def __init__(self) -> None:
        self.designs: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict, int]] = []
        self.page_size = 2
        self.polls_until_done = 1
        self._generation = 1
        self._failures: list[tuple[str | None, int, Any, dict]] = []
        self._clock = 1_764_600_000

    def put(self, design_id: str, title: str) -> dict[str, Any]:
        self._clock += 60
        design = {"id": design_id, "title": title,
                  "owner": {"user_id": "auDAbliZ2rQNNOsUl5OLu", "team_id": "Oi2RJILTrKk0KRhRUZozX"},
                  "thumbnail": {"width": 595, "height": 335,
                                "url": f"https://document-export.canva.com/{design_id}/thumbnail/0001.png?sig=1"},
                  "urls": {"edit_url": f"https://www.canva.com/api/design/{design_id}-tok/edit",
                           "view_url": f"https://www.canva.com/api/design/{design_id}-tok/view"},
                  "created_at": self._clock, "updated_at": self._clock, "page_count": 3}
        self.designs[design_id] = design
        return design

    def rename(self, design_id: str, title: str) -> None:
        self._clock += 60
        self.designs[design_id].update(title=title, updated_at=self._clock)

    def reset(self) -> None:
        self._generation += 1

    def fail_next(self, status: int, body: Any, *, path: str | None = None, headers: dict | None = None) -> None:
        self._failures.append((path, status, body, headers or {}))

    def count(self, path: str | None = None, status: int | None = None) -> int:
        return sum(1 for r in self.requests if (path is None or r[1] == path) and (status is None or r[3] == status))

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, dict]:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        status, data, extra = self._answer(method, parts.path, query, headers, body)
        self.requests.append((method, parts.path, query, status))
        return status, data, extra

    def _answer(self, method, path, query, headers, body) -> tuple[int, Any, dict]:
        for failure in list(self._failures):
            if failure[0] in (None, path):
                self._failures.remove(failure)
                return failure[1], failure[2], failure[3]
        if path == "/rest/v1/oauth/token":  # the refresh token was revoked (OAuth 2.0 RFC 6749 §5.2)
            return 400, {"error": "invalid_grant", "error_description": "Refresh token revoked"}, {}
        if headers.get("authorization") != f"Bearer {TOKEN}":
            return 401, {"code": "invalid_access_token", "message": "Access token is invalid"}, {}
        if path == "/rest/v1/designs" and method == "GET":
            offset = 0
            if query.get("continuation"):
                generation, _, start = query["continuation"].partition(":")
                if generation != str(self._generation):
                    return 400, {"code": "invalid_field", "message": "Invalid continuation"}, {}
                offset = int(start)
            ordered = sorted(self.designs.values(), key=lambda d: -d["updated_at"])
            page = ordered[offset:offset + self.page_size]
            answer: dict[str, Any] = {"items": page}
            if offset + self.page_size < len(ordered):
                answer["continuation"] = f"{self._generation}:{offset + self.page_size}"
            return 200, answer, {}
        if path.startswith("/rest/v1/designs/") and method == "GET":
            design = self.designs.get(path.rsplit("/", 1)[1])
            if design is None:
                return 404, {"code": "design_not_found", "message": "Design not found"}, {}
            return 200, {"design": design}, {}
        if path == "/rest/v1/exports" and method == "POST":
            request = json.loads(body or b"{}")
            if request.get("design_id") not in self.designs:
                return 404, {"code": "design_not_found", "message": "Design not found"}, {}
            job_id = f"e08861ae-3b29-45db-8dc1-{len(self.jobs) + 1:012d}"
            self.jobs[job_id] = {"design": request["design_id"], "type": request["format"]["type"], "polls": 0}
            return 200, {"job": {"id": job_id, "status": "in_progress"}}, {}
        if path.startswith("/rest/v1/exports/") and method == "GET":
            job_id = path.rsplit("/", 1)[1]
            job = self.jobs.get(job_id)
            if job is None:
                return 404, {"code": "not_found", "message": "Export job not found"}, {}
            job["polls"] += 1
            if job["polls"] < self.polls_until_done:
                return 200, {"job": {"id": job_id, "status": "in_progress"}}, {}
            return 200, {"job": {"id": job_id, "status": "success", "urls": [
                f"https://export-download.canva.com/{job['design']}/1.{job['type']}?sig=2"]}}, {}
        return 404, {"code": "not_found", "message": "Not found"}, {}


@pytest.fixture
def canva_fake() -> Iterator[FakeCanva]:
    with running(FakeCanva()) as fake:
        yield fake
