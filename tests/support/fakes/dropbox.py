"""A fake Dropbox API v2 (RPC and content endpoints on one 127.0.0.1 server) whose requests and
answers are checked by Dropbox's own SDK (``dropbox`` 12.x): every request's arguments are
decoded with the route's ``arg_type`` (strict: an unknown or missing field is a 400 as Dropbox
answers it), and every answer is built from SDK objects and encoded with the route's
``result_type`` / ``error_type`` -- so the shapes are Dropbox's, not ours.

Semantics, from https://www.dropbox.com/developers/documentation/http/documentation :

- ``files/list_folder`` (path, recursive, limit) -> ``ListFolderResult`` (entries of
  ``FileMetadata`` / ``FolderMetadata`` with ``.tag``, cursor, has_more);
  ``files/list_folder/continue`` (cursor) -> the entries changed since, a deleted or moved-away
  path as ``DeletedMetadata`` (name and paths only, no id); a cursor the server no longer
  accepts -> 409 ``reset``.
- ``files/list_revisions`` (path) -> ``ListRevisionsResult`` (is_deleted, entries with ids).
- ``files/get_metadata`` (path or "id:...") -> metadata, 409 ``path/not_found``.
- ``files/create_folder_v2`` -> ``CreateFolderResult``, 409 ``path/conflict/folder``.
- ``files/move_v2``, ``files/delete_v2`` -> ``RelocationResult`` / ``DeleteResult``.
- content: ``files/upload`` (``Dropbox-API-Arg`` = CommitInfo, body = the bytes, up to 150 MB),
  ``files/upload_session/start`` / ``append_v2`` / ``finish`` (offsets checked: 409
  ``incorrect_offset``) -> ``FileMetadata``.
- errors: 401 ``expired_access_token``; 429 with ``Retry-After`` (the performance guide:
  https://developers.dropbox.com/dbx-performance-guide); 409 ``{"error_summary", "error"}``.

Chosen here: cursors are opaque base64 JSON; ``reset_cursors`` invalidates them all.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import dropbox.files as dbx
import pytest
from dropbox import stone_serializers as stone

from tests.support.fakes.base import FakeServer, running

ROUTES = {f"/2/files/{r.name}" + (f"_v{r.version}" if r.version > 1 else ""): r for r in (
    dbx.list_folder, dbx.list_folder_continue, dbx.list_folder_get_latest_cursor, dbx.list_revisions,
    dbx.get_metadata, dbx.create_folder_v2, dbx.move_v2, dbx.delete_v2, dbx.upload, dbx.upload_session_start,
    dbx.upload_session_append_v2, dbx.upload_session_finish)}
CONTENT_ROUTES = ("/2/files/upload", "/2/files/upload_session/start", "/2/files/upload_session/append_v2",
                  "/2/files/upload_session/finish")


class Refused(Exception):
    def __init__(self, status: int, body: Any, headers: dict | None = None) -> None:
        self.status, self.body, self.headers = status, body, headers or {}


@dataclass
class Seen:
    method: str
    path: str
    status: int
    arg: Any
    body_bytes: int


class FakeDropbox(FakeServer):
    name = "fake-dropbox"
    content_type = None  # each answer names its own

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.files: dict[str, dict] = {}  # id -> {"path_lower", "path_display", "name", "rev", "data", "modified"}
        self.folders: dict[str, str] = {"": ""}  # path_lower -> path_display
        self.requests: list[Seen] = []
        self._log: list[tuple[int, str]] = []  # (sequence, path_lower) of every change
        self._seq = 0
        self._ids = 0
        self._generation = 0
        self._sessions: dict[str, dict] = {}
        self._failures: list[tuple[int, Any, dict, str]] = []
        self._clock = datetime(2026, 11, 1, 8, 0, 0)

    # ------------------------------------------------------------------ the user in Dropbox
    def add_folder(self, path: str) -> None:
        with self._lock:
            self.folders[path.lower()] = path
            self._changed(path.lower())

    def put_file(self, path: str, data: bytes) -> dict:
        with self._lock:
            return dict(self._write(path, data))

    def move(self, file_id: str, new_path: str) -> None:
        with self._lock:
            meta = self.files[file_id]
            self._changed(meta["path_lower"])
            meta.update(was=meta["path_lower"], path_lower=new_path.lower(), path_display=new_path, name=new_path.rsplit("/", 1)[-1])
            self._changed(new_path.lower())

    def delete(self, file_id: str) -> None:
        with self._lock:
            meta = self.files.pop(file_id)
            self._deleted = getattr(self, "_deleted", {})
            self._deleted[meta["path_lower"]] = meta
            self._changed(meta["path_lower"])

    def edit(self, file_id: str, data: bytes) -> None:
        """The user saves a new version: a new rev."""
        with self._lock:
            meta = self.files[file_id]
            meta.update(data=data, rev=self._rev(), modified=self._now())
            self._changed(meta["path_lower"])

    def reset_cursors(self) -> None:
        with self._lock:
            self._generation += 1

    def fail_next(self, status: int, body: Any, *, path: str = "", headers: dict | None = None) -> None:
        with self._lock:
            self._failures.append((status, body, headers or {}, path))

    def count(self, path: str = "", status: int | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if path in r.path and (status is None or r.status == status))

    def by_path(self, path: str) -> dict | None:
        with self._lock:
            return next((dict(m) for m in self.files.values() if m["path_lower"] == path.lower()), None)

    # ------------------------------------------------------------------ store
    def _now(self) -> datetime:
        self._clock += timedelta(seconds=1)
        return self._clock

    def _rev(self) -> str:
        self._seq += 1
        return f"{self._seq:015x}"

    def _changed(self, path_lower: str) -> None:
        self._seq += 1
        self._log.append((self._seq, path_lower))

    def _write(self, path: str, data: bytes) -> dict:
        self._ids += 1
        meta = {"id": f"id:a4ayc_80_OEAAAAAAAA{self._ids:05d}", "path_lower": path.lower(), "path_display": path,
                "name": path.rsplit("/", 1)[-1], "rev": self._rev(), "data": data, "modified": self._now()}
        self.files[meta["id"]] = meta
        self._changed(meta["path_lower"])
        return meta

    def _metadata(self, meta: dict) -> dbx.FileMetadata:
        return dbx.FileMetadata(
            name=meta["name"], id=meta["id"], client_modified=meta["modified"], server_modified=meta["modified"],
            rev=meta["rev"], size=len(meta["data"]), path_lower=meta["path_lower"], path_display=meta["path_display"],
            content_hash=hashlib.sha256(meta["data"]).hexdigest(), is_downloadable=True)

    def _entry(self, path_lower: str) -> Any:
        found = next((m for m in self.files.values() if m["path_lower"] == path_lower), None)
        if found is not None:
            return self._metadata(found)
        if path_lower in self.folders:
            display = self.folders[path_lower]
            return dbx.FolderMetadata(name=display.rsplit("/", 1)[-1], id=f"id:folder{abs(hash(path_lower)) % 10**8}",
                                      path_lower=path_lower, path_display=display)
        return dbx.DeletedMetadata(name=path_lower.rsplit("/", 1)[-1], path_lower=path_lower,
                                   path_display=path_lower)

    def _lookup(self, path: str) -> dict | None:
        if path.startswith("id:"):
            return self.files.get(path)
        return next((m for m in self.files.values() if m["path_lower"] == path.lower()), None)

    # ------------------------------------------------------------------ HTTP
    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, dict]:
        with self._lock:
            arg: Any = None
            try:
                for i, (status, payload, extra, where) in enumerate(self._failures):
                    if where in path:
                        del self._failures[i]
                        raise Refused(status, payload, extra)
                if path == "/oauth2/token":  # the refresh token was revoked
                    raise Refused(400, {"error": "invalid_grant",
                                        "error_description": "refresh token is invalid or revoked"})
                if not headers.get("authorization", "").startswith("Bearer "):
                    raise Refused(401, {"error_summary": "expired_access_token/..",
                                        "error": {".tag": "expired_access_token"}})
                route = ROUTES.get(path)
                if route is None or method != "POST":
                    raise Refused(404, "Unknown API function")
                raw = headers.get("dropbox-api-arg") if path in CONTENT_ROUTES else body
                try:
                    arg = stone.json_compat_obj_decode(route.arg_type, json.loads(raw or b"null"), strict=True)
                except Exception as exc:  # noqa: BLE001 - Dropbox answers 400 with the reason as text
                    raise Refused(400, f"Error in call to API function \"{route.name}\": {exc}") from None
                result = getattr(self, "_" + path[3:].replace("/", "_"))(arg, body if path in CONTENT_ROUTES else None)
                status, payload = 200, (stone.json_compat_obj_encode(route.result_type, result)
                                        if result is not None else None)
                extra: dict = {}
            except Refused as exc:
                status, payload, extra = exc.status, exc.body, exc.headers
            self.requests.append(Seen(method, path, status, arg, len(body)))
        if isinstance(payload, str):
            return status, payload.encode(), {**extra, "Content-Type": "text/plain; charset=utf-8"}
        return status, json.dumps(payload).encode(), {**extra, "Content-Type": "application/json"}

    def _error(self, route, error: Any, summary: str) -> Refused:
        return Refused(409, {"error_summary": summary, "error": stone.json_compat_obj_encode(route.error_type, error)})

    # ---- listing
    def _cursor(self, **state: Any) -> str:
        return "AAH" + base64.urlsafe_b64encode(json.dumps({**state, "g": self._generation}).encode()).decode()

    def _under(self, root: str, path_lower: str, recursive: bool) -> bool:
        if not path_lower.startswith(root + "/"):
            return False
        return recursive or "/" not in path_lower[len(root) + 1:]

    def _files_list_folder(self, arg: dbx.ListFolderArg, _body) -> dbx.ListFolderResult:
        root = arg.path.lower()
        if root and root not in self.folders:
            raise self._error(dbx.list_folder, dbx.ListFolderError.path(dbx.LookupError.not_found), "path/not_found/")
        return self._page(root, arg.recursive, 0, self._seq, arg.limit or 2000)

    def _page(self, root: str, recursive: bool, offset: int, seq: int, limit: int) -> dbx.ListFolderResult:
        paths = sorted([p for p in self.folders if p and self._under(root, p, recursive)]
                       + [m["path_lower"] for m in self.files.values() if self._under(root, m["path_lower"], recursive)])
        page = paths[offset:offset + limit]
        more = offset + limit < len(paths)
        cursor = self._cursor(r=root, rec=recursive, off=offset + limit if more else None, seq=seq, lim=limit)
        return dbx.ListFolderResult(entries=[self._entry(p) for p in page], cursor=cursor, has_more=more)

    def _files_list_folder_continue(self, arg: dbx.ListFolderContinueArg, _body) -> dbx.ListFolderResult:
        try:
            state = json.loads(base64.urlsafe_b64decode(arg.cursor[3:]))
        except ValueError:
            state = {"g": -1}
        if state.get("g") != self._generation:
            raise self._error(dbx.list_folder_continue, dbx.ListFolderContinueError.reset, "reset/..")
        root, recursive, limit = state["r"], state["rec"], state["lim"]
        if state.get("off") is not None:
            return self._page(root, recursive, state["off"], state["seq"], limit)
        changed = list(dict.fromkeys(p for n, p in self._log if n > state["seq"] and self._under(root, p, recursive)))
        page, rest = changed[:limit], changed[limit:]
        seq = self._seq if not rest else max(n for n, p in self._log if p in page)
        return dbx.ListFolderResult(entries=[self._entry(p) for p in page],
                                    cursor=self._cursor(r=root, rec=recursive, off=None, seq=seq, lim=limit),
                                    has_more=bool(rest))

    def _files_list_folder_get_latest_cursor(self, arg, _body) -> dbx.ListFolderGetLatestCursorResult:
        return dbx.ListFolderGetLatestCursorResult(cursor=self._cursor(r=arg.path.lower(), rec=arg.recursive,
                                                                       off=None, seq=self._seq, lim=arg.limit or 2000))

    def _files_list_revisions(self, arg: dbx.ListRevisionsArg, _body) -> dbx.ListRevisionsResult:
        gone = getattr(self, "_deleted", {}).get(arg.path.lower())
        if gone is not None:
            return dbx.ListRevisionsResult(is_deleted=True, entries=[self._metadata(gone)], has_more=False,
                                           server_deleted=self._clock)
        current = self._lookup(arg.path)
        if current is not None:
            return dbx.ListRevisionsResult(is_deleted=False, entries=[self._metadata(current)], has_more=False)
        moved = next((m for m in self.files.values() if m.get("was") == arg.path.lower()), None)
        if moved is not None:  # the revisions of a moved file's old path: is_deleted, the file's entries
            return dbx.ListRevisionsResult(is_deleted=True, entries=[self._metadata(moved)], server_deleted=self._clock,
                                           has_more=False)
        raise self._error(dbx.list_revisions, dbx.ListRevisionsError.path(dbx.LookupError.not_found),
                          "path/not_found/")

    def _files_get_metadata(self, arg: dbx.GetMetadataArg, _body) -> Any:
        found = self._lookup(arg.path)
        if found is None:
            if arg.path.lower() in self.folders:
                return self._entry(arg.path.lower())
            raise self._error(dbx.get_metadata, dbx.GetMetadataError.path(dbx.LookupError.not_found),
                              "path/not_found/")
        return self._metadata(found)

    # ---- writes
    def _files_create_folder_v2(self, arg: dbx.CreateFolderArg, _body) -> dbx.CreateFolderResult:
        if arg.path.lower() in self.folders:
            raise self._error(dbx.create_folder_v2,
                              dbx.CreateFolderError.path(dbx.WriteError.conflict(dbx.WriteConflictError.folder)),
                              "path/conflict/folder/")
        self.folders[arg.path.lower()] = arg.path
        self._changed(arg.path.lower())
        return dbx.CreateFolderResult(metadata=self._entry(arg.path.lower()))

    def _files_move_v2(self, arg: dbx.RelocationArg, _body) -> dbx.RelocationResult:
        meta = self._lookup(arg.from_path)
        if meta is None:
            raise self._error(dbx.move_v2, dbx.RelocationError.from_lookup(dbx.LookupError.not_found),
                              "from_lookup/not_found/")
        if meta["path_lower"] != arg.to_path.lower() and self._lookup(arg.to_path):
            raise self._error(dbx.move_v2, dbx.RelocationError.to(dbx.WriteError.conflict(dbx.WriteConflictError.file)),
                              "to/conflict/file/")
        self._changed(meta["path_lower"])
        meta.update(was=meta["path_lower"], path_lower=arg.to_path.lower(), path_display=arg.to_path,
                    name=arg.to_path.rsplit("/", 1)[-1])
        self._changed(meta["path_lower"])
        return dbx.RelocationResult(metadata=self._metadata(meta))

    def _files_delete_v2(self, arg: dbx.DeleteArg, _body) -> dbx.DeleteResult:
        meta = self._lookup(arg.path)
        if meta is None:
            raise self._error(dbx.delete_v2, dbx.DeleteError.path_lookup(dbx.LookupError.not_found),
                              "path_lookup/not_found/")
        result = dbx.DeleteResult(metadata=self._metadata(meta))
        self.delete(meta["id"])
        return result

    def _commit(self, commit: dbx.CommitInfo, data: bytes, route: Any = dbx.upload) -> dbx.FileMetadata:
        existing = self._lookup(commit.path)
        path = commit.path
        if commit.mode.is_update() and existing is not None and existing["rev"] == commit.mode.get_update():
            existing.update(data=data, rev=self._rev(), modified=self._now())  # a new version of that file
            self._changed(existing["path_lower"])
            return self._metadata(existing)
        if existing is not None or commit.mode.is_update():  # update: a different rev there is a conflict
            if not commit.autorename or commit.mode.is_update():
                failed = dbx.UploadWriteFailed(reason=dbx.WriteError.conflict(dbx.WriteConflictError.file),
                                               upload_session_id="")
                error = (dbx.UploadError.path(failed) if route is dbx.upload
                         else dbx.UploadSessionFinishError.path(dbx.WriteError.conflict(dbx.WriteConflictError.file)))
                raise self._error(route, error, "path/conflict/file/..")
            stem, dot, ext = path.rpartition(".")
            path = f"{stem} (1).{ext}" if dot else f"{path} (1)"
        return self._metadata(self._write(path, data))

    def _files_upload(self, arg: dbx.UploadArg, body: bytes) -> dbx.FileMetadata:
        return self._commit(arg, body)

    def _files_upload_session_start(self, arg: dbx.UploadSessionStartArg, body: bytes):
        session_id = f"pid_upload_session:ABCD{len(self._sessions) + 1:04d}"
        self._sessions[session_id] = {"data": bytearray(body), "closed": arg.close}
        return dbx.UploadSessionStartResult(session_id=session_id)

    def _session(self, route, cursor: dbx.UploadSessionCursor) -> dict:
        session = self._sessions.get(cursor.session_id)
        if session is None:
            raise self._error(route, dbx.UploadSessionLookupError.not_found, "not_found/")
        if cursor.offset != len(session["data"]):
            raise self._error(route, dbx.UploadSessionLookupError.incorrect_offset(
                dbx.UploadSessionOffsetError(correct_offset=len(session["data"]))), "incorrect_offset/")
        return session

    def _files_upload_session_append_v2(self, arg: dbx.UploadSessionAppendArg, body: bytes) -> None:
        self._session(dbx.upload_session_append_v2, arg.cursor)["data"] += body
        return None

    def _files_upload_session_finish(self, arg: dbx.UploadSessionFinishArg, body: bytes) -> dbx.FileMetadata:
        session = self._session(dbx.upload_session_finish, arg.cursor)
        session["data"] += body
        del self._sessions[arg.cursor.session_id]
        return self._commit(arg.commit, bytes(session["data"]), dbx.upload_session_finish)


@pytest.fixture
def dropbox_fake() -> Iterator[FakeDropbox]:
    with running(FakeDropbox()) as fake:
        yield fake
