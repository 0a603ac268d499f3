"""Figma's adapter: files -> documents (import only) through the REST API
(https://developers.figma.com/docs/rest-api/).

- **Files**: the picked ``fileKeys`` (``GET /v1/files/{key}/meta``, a Tier-3 call, not the
  Tier-1 file content: 404 -> the file is gone), every file of the picked ``projectIds``
  (``GET /v1/projects/{id}/files``) and of every project of the picked ``teamIds`` (``GET
  /v1/teams/{id}/projects`` first). One source per page; the cursor is the sources still to read.
  No change feed: each run lists from the start and the engine reconciles removals. A file
  becomes ``{id (key), name, link (url, else https://www.figma.com/file/<key>), thumbnailUrl,
  mimeType "application/vnd.figma.<editorType>", lastModified}``.
- **Errors**: 401, and 403 ``Invalid token`` -> ``CredentialsRefused``; 429 (Retry-After) and
  5xx are the client's; any other answer fails the run, naming Figma's ``err``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
    PageSetting,
    ProviderAdapter,
    RemoteChange,
)
from integrations.providers.common import AnswerError, instant

KEYS = ("fileKeys", "projectIds", "teamIds")
WEB = "https://www.figma.com/file/"


class FigmaError(AnswerError):
    provider = "Figma"

    def __init__(self, what: str, response: Answer) -> None:
        err = response.data.get("err") if isinstance(response.data, Mapping) else None
        super().__init__(what, response.status, str(err)[:80] if err else "")


class FigmaAdapter(ProviderAdapter):
    # Figma lists no user's teams: a team id is typed (from the team page's URL); its projects and
    # their files are then offered to pick (a picked team or project syncs all of its files).
    page_settings = (PageSetting("teamIds", "ids"), PageSetting("projectIds", "picks", "projects", after="teamIds"),
                     PageSetting("fileKeys", "picks", "files", after="projectIds"))

    def setting_choices(self, client: Caller, source: str, settings: Mapping[str, Any]) -> list[Container]:
        if source not in ("projects", "files"):
            return super().setting_choices(client, source, settings)
        projects: list[Container] = []
        for team in [t for t in settings.get("teamIds") or [] if isinstance(t, str)][:10]:
            response = client.request("GET", f"/v1/teams/{quote(team, safe='')}/projects")
            _check(response, f"team {team}")
            projects += [Container(id=str(p["id"]), name=str(p.get("name") or p["id"]))
                         for p in (response.data or {}).get("projects") or [] if isinstance(p, Mapping) and p.get("id")]
        if source == "projects":
            return projects
        wanted = [p for p in settings.get("projectIds") or [] if isinstance(p, str)] or [p.id for p in projects]
        files: list[Container] = []
        for project in wanted[:20]:
            response = client.request("GET", f"/v1/projects/{quote(project, safe='')}/files")
            _check(response, f"project {project}")
            files += [Container(id=str(f["key"]), name=str(f.get("name") or f["key"]))
                      for f in (response.data or {}).get("files") or [] if isinstance(f, Mapping) and f.get("key")]
        return files

    def settings_defaults(self) -> dict[str, Any]:
        return {key: [] for key in KEYS}

    def settings_errors(self, value: Mapping[str, Any]) -> dict[str, list[str]]:
        if not isinstance(value, Mapping):
            return {"settings": [_("must be an object")]}
        errors = unknown_errors(value, set(KEYS))
        for key in KEYS:
            errors.update(id_list_errors(value, key))
        return errors

    def settings_values(self, settings: Mapping[str, Any]) -> dict[str, str]:
        picked = {k: settings.get(k) for k in KEYS} if isinstance(settings, Mapping) else {}
        return {"figmaSources": json.dumps({k: v for k, v in picked.items() if isinstance(v, list)})}

    def sync_containers(self, settings: Mapping[str, Any]) -> tuple[str, ...] | None:
        return (CONTAINER,)

    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        return [dict(m) for m in DESIGN_MAPPING] if (local_type, remote_type) == ("document", "file") else []

    # ------------------------------------------------------------------ changes
    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        queue = _decode(cursor) if cursor else _sources(client)
        if not queue:
            return ChangePage((), None, done=True)
        kind, ident = queue[0]
        rest = queue[1:]
        changes: list[RemoteChange] = []
        if kind == "file":
            response = client.request("GET", f"/v1/files/{quote(ident, safe='')}/meta")
            if response.status == 404:
                changes.append(RemoteChange(remote_id=ident, deleted=True))
            else:
                _check(response, f"file {ident}")
                meta = response.data.get("file") if isinstance(response.data, Mapping) else None
                if isinstance(meta, Mapping):
                    changes.append(_change(ident, meta))
        elif kind == "project":
            response = client.request("GET", f"/v1/projects/{quote(ident, safe='')}/files")
            _check(response, f"project {ident}")
            for item in (response.data or {}).get("files") or []:
                if isinstance(item, Mapping) and item.get("key"):
                    changes.append(_change(str(item["key"]), item))
        else:  # a team: its projects join the queue
            response = client.request("GET", f"/v1/teams/{quote(ident, safe='')}/projects")
            _check(response, f"team {ident}")
            projects = [["project", str(p["id"])] for p in (response.data or {}).get("projects") or []
                        if isinstance(p, Mapping) and p.get("id")]
            rest = projects + rest
        if rest:
            return ChangePage(tuple(changes), json.dumps(rest), done=False)
        return ChangePage(tuple(changes), None, done=True)  # no feed: the next run lists from the start


# ---------------------------------------------------------------------- helpers
def _sources(client: Caller) -> list[list[str]]:
    try:
        picked = json.loads(client.values.get("figmaSources") or "{}")
    except ValueError:
        picked = {}
    return ([["file", k] for k in picked.get("fileKeys") or []] + [["project", p] for p in picked.get("projectIds") or []]
            + [["team", t] for t in picked.get("teamIds") or []])


def _check(response: Answer, what: str) -> None:
    err = response.data.get("err") if isinstance(response.data, Mapping) else None
    if response.status == 401 or (response.status == 403 and str(err).lower() == "invalid token"):
        raise CredentialsRefused(f"Figma refused the access token (HTTP {response.status})")
    if not response.ok:
        raise FigmaError(what, response)


def _change(key: str, item: Mapping[str, Any]) -> RemoteChange:
    modified = item.get("last_modified") or item.get("last_touched_at")
    editor = item.get("editorType") or "figma"
    raw = {"id": key, "name": item.get("name") or key, "link": item.get("url") or f"{WEB}{key}",
           "thumbnailUrl": item.get("thumbnail_url") or "", "mimeType": f"application/vnd.figma.{editor}",
           "lastModified": modified}
    return RemoteChange(remote_id=key, deleted=False, version=str(modified) if modified else None, raw=raw,
                        modified_at=instant(modified))


def _decode(cursor: str) -> list[list[str]]:
    try:
        value = json.loads(cursor)
    except ValueError:
        raise CursorInvalid("not a Figma cursor") from None
    if not isinstance(value, list) or not all(isinstance(v, list) and len(v) == 2 for v in value):
        raise CursorInvalid("not a Figma cursor")
    return value
