"""Canva's adapter: designs -> documents (import only) and export jobs, through the Connect API
(https://www.canva.dev/docs/connect/).

- **Designs**: the picked ``designIds`` one by one (``GET /v1/designs/{id}``: 404 -> the design
  is gone), else every design the user can list (``GET /v1/designs?ownership=&sort_by=
  modified_descending``, ``continuation`` -> the next page). No change feed: each run lists from
  the start and the engine reconciles removals. A continuation Canva refuses (400) ->
  ``CursorInvalid``. A design becomes ``{id, name (title or "Untitled design"), link (urls.
  view_url, else edit_url), thumbnailUrl, mimeType "application/vnd.canva.design", pageCount}``.
- **Export jobs** (https://www.canva.dev/docs/connect/api-reference/exports/): ``POST /v1/exports``
  ``{"design_id", "format": {"type": "pdf"|"png"}}`` -> ``{"job": {"id", "status"}}``; ``GET
  /v1/exports/{id}`` -> ``status`` ``in_progress`` / ``success`` (``urls``) / ``failed``
  (``error.message``).
- **Errors**: 401 after the client's one refresh -> ``CredentialsRefused``; 429 / 5xx are the
  client's (Retry-After / backoff); anything else fails the run, naming Canva's ``code``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from django.utils.translation import gettext as _

from integrations.providers._design import CONTAINER, DESIGN_MAPPING, id_list_errors, unknown_errors
from integrations.providers.adapter import (
    Answer,
    Caller,
    ChangePage,
    Container,
    CredentialsRefused,
    CursorInvalid,
    ExportJob,
    PageSetting,
    ProviderAdapter,
    RemoteChange,
    cursor_state,
)
from integrations.providers.common import AnswerError

OWNERSHIP = ("any", "owned", "shared")
MIME = "application/vnd.canva.design"
#: Picked designs read per page (one GET each).
PICKS_PER_PAGE = 25
#: Listing pages read to offer designs to pick (Canva pages hold up to 100 designs).
CHOICE_PAGES = 3


class CanvaError(AnswerError):
    provider = "Canva"

    def __init__(self, what: str, response: Answer) -> None:
        data = response.data if isinstance(response.data, Mapping) else {}
        code = data.get("code")  # Canva's error body: {"code": "...", "message": "..."}
        super().__init__(what, response.status, str(code)[:60] if code else "")


class CanvaAdapter(ProviderAdapter):
    export_formats = ("pdf", "png")
    page_settings = (PageSetting("ownership", "pick", options=OWNERSHIP), PageSetting("designIds", "picks", "designs"))

    def setting_choices(self, client: Caller, source: str, settings: Mapping[str, Any]) -> list[Container]:
        """The designs the user can list, newest first (none picked: all of them sync)."""
        if source != "designs":
            return super().setting_choices(client, source, settings)
        found: list[Container] = []
        params = {"ownership": settings.get("ownership") if settings.get("ownership") in OWNERSHIP else "any",
                  "sort_by": "modified_descending"}
        for _page in range(CHOICE_PAGES):
            response = client.request("GET", "/designs", params=params)
            _check(response, "design listing")
            data = response.data if isinstance(response.data, Mapping) else {}
            for item in data.get("items") or []:
                if isinstance(item, Mapping) and item.get("id"):
                    found.append(Container(id=str(item["id"]), name=str(item.get("title") or "Untitled design")))
            if not data.get("continuation"):
                break
            params = {**params, "continuation": data["continuation"]}
        return found

    # ------------------------------------------------------------------ settings
    def settings_defaults(self) -> dict[str, Any]:
        return {"designIds": [], "ownership": "any"}

    def settings_errors(self, value: Mapping[str, Any]) -> dict[str, list[str]]:
        if not isinstance(value, Mapping):
            return {"settings": [_("must be an object")]}
        errors = unknown_errors(value, {"designIds", "ownership"})
        errors.update(id_list_errors(value, "designIds"))
        if "ownership" in value and value["ownership"] not in OWNERSHIP:
            errors["ownership"] = [_("must be one of %(choices)s") % {"choices": ", ".join(OWNERSHIP)}]
        return errors

    def settings_values(self, settings: Mapping[str, Any]) -> dict[str, str]:
        picks = settings.get("designIds") if isinstance(settings, Mapping) else None
        ownership = settings.get("ownership") if isinstance(settings, Mapping) else None
        return {"canvaDesignIds": json.dumps(picks if isinstance(picks, list) else []),
                "canvaOwnership": ownership if ownership in OWNERSHIP else "any"}

    def sync_containers(self, settings: Mapping[str, Any]) -> tuple[str, ...] | None:
        return (CONTAINER,)

    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        return [dict(m) for m in DESIGN_MAPPING] if (local_type, remote_type) == ("document", "design") else []

    # ------------------------------------------------------------------ changes
    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        state = _decode(cursor)
        picks = json.loads(client.values.get("canvaDesignIds") or "[]")
        if picks:
            return self._picked(client, picks, int(state.get("offset") or 0))
        params = {"ownership": client.values.get("canvaOwnership") or "any", "sort_by": "modified_descending"}
        if state.get("continuation"):
            params["continuation"] = state["continuation"]
        response = client.request("GET", "/designs", params=params)
        if state.get("continuation") and response.status == 400:
            raise CursorInvalid("Canva refused the continuation token")
        _check(response, "design listing")
        data = response.data if isinstance(response.data, Mapping) else {}
        changes = tuple(_change(item) for item in data.get("items") or [] if isinstance(item, Mapping) and item.get("id"))
        following = data.get("continuation")
        if following:
            return ChangePage(changes, json.dumps({"continuation": following}), done=False)
        return ChangePage(changes, None, done=True)  # no feed: the next run lists from the start

    def _picked(self, client: Caller, picks: list[str], offset: int) -> ChangePage:
        changes = []
        for design_id in picks[offset:offset + PICKS_PER_PAGE]:
            response = client.request("GET", f"/designs/{quote(design_id, safe='')}")
            if response.status == 404:
                changes.append(RemoteChange(remote_id=design_id, deleted=True))
                continue
            _check(response, f"design {design_id}")
            design = (response.data or {}).get("design") if isinstance(response.data, Mapping) else None
            if isinstance(design, Mapping) and design.get("id"):
                changes.append(_change(design))
        end = offset + PICKS_PER_PAGE
        if end < len(picks):
            return ChangePage(tuple(changes), json.dumps({"offset": end}), done=False)
        return ChangePage(tuple(changes), None, done=True)

    # ------------------------------------------------------------------ export jobs
    def export_start(self, client: Caller, *, remote_id: str, fmt: str) -> ExportJob:
        response = client.request("POST", "/exports", json={"design_id": remote_id, "format": {"type": fmt}},
                                  idempotent=False)
        _check(response, "export")
        return _job(response)

    def export_status(self, client: Caller, *, job_id: str) -> ExportJob:
        response = client.request("GET", f"/exports/{quote(job_id, safe='')}")
        _check(response, "export status")
        return _job(response)


# ---------------------------------------------------------------------- helpers
def _check(response: Answer, what: str) -> None:
    if response.status == 401:
        raise CredentialsRefused("Canva refused the access token (HTTP 401)")
    if not response.ok:
        raise CanvaError(what, response)


def _change(design: Mapping[str, Any]) -> RemoteChange:
    urls = design.get("urls") if isinstance(design.get("urls"), Mapping) else {}
    thumbnail = design.get("thumbnail") if isinstance(design.get("thumbnail"), Mapping) else {}
    updated = design.get("updated_at")
    raw = {"id": design["id"], "name": design.get("title") or "Untitled design",
           "link": urls.get("view_url") or urls.get("edit_url") or "",
           "thumbnailUrl": thumbnail.get("url") or "", "mimeType": MIME, "pageCount": design.get("page_count"),
           "updatedAt": updated}
    return RemoteChange(remote_id=str(design["id"]), deleted=False, version=str(updated) if updated else None,
                        raw=raw, modified_at=datetime.fromtimestamp(updated, UTC) if isinstance(updated, int) else None)


def _job(response: Answer) -> ExportJob:
    job = (response.data or {}).get("job") if isinstance(response.data, Mapping) else None
    if not isinstance(job, Mapping) or not job.get("id"):
        raise CanvaError("export (no job in the answer)", response)
    error = job.get("error") if isinstance(job.get("error"), Mapping) else {}
    return ExportJob(id=str(job["id"]), status=str(job.get("status") or "in_progress"),
                     urls=tuple(str(u) for u in job.get("urls") or [] if isinstance(u, str)),
                     error=str(error.get("message") or error.get("code"))[:300] if error else None)


def _decode(cursor: str | None) -> dict[str, Any]:
    return cursor_state(cursor, "Canva") if cursor else {}
