"""Custom API's adapter: a generic REST adapter the studio configures in ``settings``, so it can
sync with a system no one wrote an adapter for.

Connection: ``baseUrl`` (checked against private addresses before every call by the provider
client, as every tenant-typed origin is), ``authHeader`` / ``apiKey`` (the header sent as is).
The test call is a GET of the base URL; any answer below 400 proves the server and the key.

Settings (validated on save; each bad key named in the 400)::

    {"resources": {"<local entity type>": {
        "listPath": "/v1/clients",          # GET, relative to the base URL (required)
        "itemsPath": "data",                 # dot path of the item list in the answer ("" = the body)
        "cursorParam": "cursor",             # query parameter the next page's cursor is sent in
        "nextCursorPath": "meta.next_cursor",# dot path of the next cursor (absent/empty: last page);
                                             #   an absolute URL there is followed (same origin only)
        "idField": "id", "updatedAtField": "updated_at",
        "updatedSinceParam": "updated_since",# optional: later runs list only what changed since
        "hubIdField": "external_ref",        # optional: the hub's id stamped on created items
        "pageSizeParam": "limit", "pageSize": 50,
        "createPath": "/v1/clients", "createMethod": "POST",
        "updatePath": "/v1/clients/{id}", "updateMethod": "PATCH",
        "deletePath": "/v1/clients/{id}", "deleteMethod": "DELETE"}}}

Each local type configured is its own remote type and container (``pair_containers``), so ids
of two resources never meet. Change feed: without ``updatedSinceParam`` every run is a full
listing and items no longer listed are removals (the engine's reconciliation); with it, the
cursor kept between runs is the newest ``updatedAtField`` seen and removals are seen only by a
full sync. A cursor the API refuses (410, or 400 on a page after the first) -> ``CursorInvalid``.
Errors: 401/403 -> ``CredentialsRefused``; 429 and 5xx are retried by the client (Retry-After,
backoff) and then fail the run; any other 4xx on a write fails that record (it stays queued).
Updates and deletes are unconditional (a generic API has no agreed version header).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_
from django.utils.translation import pgettext_lazy

from core.words import say, words
from integrations.providers.adapter import (
    Answer,
    Caller,
    ChangePage,
    CredentialsRefused,
    CursorInvalid,
    PageSetting,
    ProviderAdapter,
    RemoteChange,
    TestCall,
    cursor_state,
)
from integrations.providers.base import LOCAL_ENTITY_TYPES
from integrations.providers.common import instant

#: The client value the settings' resources travel in (``settings_values``).
RESOURCES_VALUE = "customApiResources"
TEXT_KEYS = ("itemsPath", "cursorParam", "nextCursorPath", "idField", "updatedAtField", "updatedSinceParam",
             "hubIdField", "pageSizeParam")
PATH_KEYS = ("listPath", "createPath", "updatePath", "deletePath")
METHODS = {"createMethod": ("POST", "PUT"), "updateMethod": ("PATCH", "PUT", "POST"),
           "deleteMethod": ("DELETE", "POST")}
DEFAULTS = {"itemsPath": "", "cursorParam": "cursor", "nextCursorPath": "", "idField": "id", "updatedAtField": "",
            "updatedSinceParam": "", "hubIdField": "", "pageSizeParam": "", "createMethod": "POST",
            "updateMethod": "PATCH", "deleteMethod": "DELETE"}
MAX_TEXT = 300
MAX_PAGE_SIZE = 1000


#: The context of the calls' names in CustomApiError (``pgettext_lazy``): "list" is a call here.
CALL = "custom api call"


class CustomApiError(Exception):
    """An answer the sync cannot use: the status and a short reason (never the auth header).

    ``what`` names the call (``pgettext_lazy(CALL, ...)``, ``%(name)s`` filled from ``values``).
    The text (``str``) stays English, as the sync's log keeps it whoever reads it later;
    ``in_words()`` is the same in the active language, for the page's dry run."""

    def __init__(self, what: Any, response: Answer, **values: str) -> None:
        self.status = response.status
        self.what, self.values, self.reason = what, values, _reason(response)
        with translation.override("en"):
            call = str(what) % values
        super().__init__(f"Custom API {call}: HTTP {response.status}{self.reason}")
        # What the run's log keeps (core.words): the reason is the API's own words, kept as they are.
        context, msgid = _lazy_msgid(what)
        self.words = words(N_("Custom API %(call)s: HTTP %(status)s%(reason)s"),
                           call=words(msgid, context=context, **values), status=self.status, reason=self.reason)

    def in_words(self) -> str:
        return say(self.words) or str(self)


def _lazy_msgid(what: Any) -> tuple[str | None, str]:
    """(context, msgid) of a ``pgettext_lazy`` proxy (its call's arguments), else the text itself."""
    args = getattr(what, "_args", None)
    if isinstance(args, tuple) and len(args) == 2 and all(isinstance(a, str) for a in args):
        return args[0], args[1]
    return None, str(what)


class CustomApiAdapter(ProviderAdapter):
    #: The settings page's resources editor (one row per local type) and its dry run.
    page_settings = (PageSetting("resources", "resources"),)

    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        if values.get("apiKey"):
            return {values.get("authHeader") or "Authorization": values["apiKey"]}
        return {}

    @property
    def can_test_connection(self) -> bool:
        return True

    def test_call(self, values: Mapping[str, Any]) -> TestCall | None:
        return TestCall("GET", "")

    def test_ok(self, response: Answer) -> bool:
        return response.status < 400

    # ------------------------------------------------------------------ settings
    def settings_defaults(self) -> dict[str, Any]:
        return {"resources": {}}

    def settings_errors(self, value: Mapping[str, Any]) -> dict[str, list[str]]:
        if not isinstance(value, Mapping):
            return {"settings": [_("must be an object")]}
        errors: dict[str, list[str]] = {}
        for key in sorted(set(value) - {"resources", "timeZone"}):
            errors[str(key)[:100]] = [_("unknown setting (known: %(known)s)") % {"known": "resources, timeZone"}]
        resources = value.get("resources", {})
        if not isinstance(resources, Mapping):
            return {**errors, "resources": [_("must be an object of local entity type -> resource config")]}
        for local_type, config in resources.items():
            where = f"resources.{str(local_type)[:50]}"
            if local_type not in LOCAL_ENTITY_TYPES:
                errors[where] = [_("not a local entity type (one of %(types)s)") % {"types": ", ".join(LOCAL_ENTITY_TYPES)}]
                continue
            if not isinstance(config, Mapping):
                errors[where] = [_("must be an object")]
                continue
            errors.update(_resource_errors(where, config))
        return errors

    def settings_values(self, settings: Mapping[str, Any]) -> dict[str, str]:
        resources = settings.get("resources") if isinstance(settings, Mapping) else None
        return {RESOURCES_VALUE: json.dumps(resources if isinstance(resources, Mapping) else {})}

    def pair_containers(self, remote_type: str) -> tuple[str, ...] | None:
        return (remote_type,)  # each resource is its own collection, named by its type

    # ------------------------------------------------------------------ changes
    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        config = _config(client, container)
        state = _decode(cursor)
        params: dict[str, Any] = {}
        if config["pageSizeParam"] and config.get("pageSize"):
            params[config["pageSizeParam"]] = config["pageSize"]
        if config["updatedSinceParam"] and state.get("since"):
            params[config["updatedSinceParam"]] = state["since"]
        path, page_cursor = config["listPath"], state.get("next")
        if isinstance(page_cursor, str) and page_cursor.startswith(("http://", "https://")):
            path, params = _same_origin(client, page_cursor), {}
        elif page_cursor:
            params[config["cursorParam"]] = page_cursor
        response = client.request("GET", path, params=params or None)
        if page_cursor and response.status in (400, 404, 410):
            raise CursorInvalid(words(N_("the API refused the page cursor (HTTP %(status)s)"), status=response.status))
        _raise_refused(response)
        if not response.ok:
            raise CustomApiError(pgettext_lazy(CALL, "list"), response)
        items = _at(response.data, config["itemsPath"])
        if not isinstance(items, list):
            if config["itemsPath"]:
                raise CustomApiError(pgettext_lazy(CALL, "list (no list at %(path)s)"), response,
                                     path=repr(config["itemsPath"]))
            raise CustomApiError(pgettext_lazy(CALL, "list (the body is not a list)"), response)
        newest = state.get("max") or state.get("since")
        changes = []
        for item in items:
            if isinstance(item, Mapping):
                change = _change(item, config)
                if change is not None:
                    changes.append(change)
                    stamp = _at(item, config["updatedAtField"]) if config["updatedAtField"] else None
                    if isinstance(stamp, str) and (newest is None or stamp > newest):
                        newest = stamp
        following = _at(response.data, config["nextCursorPath"]) if config["nextCursorPath"] else None
        if following not in (None, "") and str(following) != page_cursor:
            return ChangePage(tuple(changes), json.dumps({"next": str(following), "since": state.get("since"),
                                                          "max": newest}), done=False)
        # The last page: with an updated-since filter the next run starts from the newest item seen;
        # without one the next run is a full listing again (None), which reconciles removals.
        done_cursor = json.dumps({"since": newest}) if config["updatedSinceParam"] and newest else None
        return ChangePage(tuple(changes), done_cursor, done=True)

    # ------------------------------------------------------------------ writes
    def push_create(self, client: Caller, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        config = _config(client, container)
        if not config.get("createPath"):
            raise CustomApiError(pgettext_lazy(CALL, "create (no createPath configured)"), _Missing())
        body = dict(record)
        if config["hubIdField"]:
            body[config["hubIdField"]] = hub_id
        response = client.request(config["createMethod"], config["createPath"], json=body, idempotent=False)
        _raise_refused(response)
        if not response.ok:
            raise CustomApiError(pgettext_lazy(CALL, "create"), response)
        created = _change(response.data, config) if isinstance(response.data, Mapping) else None
        if created is None:
            raise CustomApiError(pgettext_lazy(CALL, "create (no %(field)s in the answer)"), response,
                                 field=repr(config["idField"]))
        return created

    def push_update(self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
                    version: str | None) -> RemoteChange:
        config = _config(client, container)
        if not config.get("updatePath"):
            raise CustomApiError(pgettext_lazy(CALL, "update (no updatePath configured)"), _Missing())
        response = client.request(config["updateMethod"], _with_id(config["updatePath"], remote_id),
                                  json=dict(record), idempotent=config["updateMethod"] != "POST")
        _raise_refused(response)
        if not response.ok:
            raise CustomApiError(pgettext_lazy(CALL, "update"), response)
        updated = _change(response.data, config) if isinstance(response.data, Mapping) else None
        return updated or RemoteChange(remote_id=remote_id, deleted=False, raw={**record, config["idField"]: remote_id})

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        config = _config(client, container)
        if not config.get("deletePath"):
            raise CustomApiError(pgettext_lazy(CALL, "delete (no deletePath configured)"), _Missing())
        response = client.request(config["deleteMethod"], _with_id(config["deletePath"], remote_id))
        _raise_refused(response)
        if not (response.ok or response.status in (404, 410)):  # already gone is not an error
            raise CustomApiError(pgettext_lazy(CALL, "delete"), response)


# ---------------------------------------------------------------------- settings checks
def _resource_errors(where: str, config: Mapping[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    known = {*TEXT_KEYS, *PATH_KEYS, *METHODS, "pageSize"}
    for key in sorted(set(config) - known):
        errors[f"{where}.{str(key)[:50]}"] = [_("unknown key (known: %(known)s)") % {"known": ", ".join(sorted(known))}]
    if not config.get("listPath"):
        errors[f"{where}.listPath"] = [_("required: the GET path that lists the items")]
    for key in PATH_KEYS:
        value = config.get(key)
        if value is None:
            continue
        if (not isinstance(value, str) or not value.startswith("/") or len(value) > MAX_TEXT or ".." in value
                or "://" in value or "?" in value or "#" in value):
            errors[f"{where}.{key}"] = [_("must be a path under the base URL, starting with '/' "
                                          "(no '..', query or fragment; at most %(n)s characters)") % {"n": MAX_TEXT}]
        elif key in ("updatePath", "deletePath") and "{id}" not in value:
            errors[f"{where}.{key}"] = [_("must contain {id}, where the item's id goes")]
        elif key in ("listPath", "createPath") and "{" in value:
            errors[f"{where}.{key}"] = [_("takes no placeholders")]
    for key in TEXT_KEYS:
        value = config.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT):
            errors[f"{where}.{key}"] = [_("must be a string of at most %(n)s characters") % {"n": MAX_TEXT}]
    if config.get("idField") == "":
        errors[f"{where}.idField"] = [_("must name the field holding the item's id")]
    for key, allowed in METHODS.items():
        if key in config and config[key] not in allowed:
            errors[f"{where}.{key}"] = [_("must be one of %(choices)s") % {"choices": ", ".join(allowed)}]
    size = config.get("pageSize")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_PAGE_SIZE):
        errors[f"{where}.pageSize"] = [_("must be a whole number from 1 to %(max)s") % {"max": MAX_PAGE_SIZE}]
    return errors


# ---------------------------------------------------------------------- helpers
class _Missing:
    status, data, text, headers, ok = 0, None, "", {}, False


def _config(client: Caller, container: str) -> dict[str, Any]:
    try:
        resources = json.loads(client.values.get(RESOURCES_VALUE) or "{}")
    except ValueError:
        resources = {}
    config = resources.get(container) if isinstance(resources, dict) else None
    if not isinstance(config, dict) or not config.get("listPath"):
        raise CustomApiError(pgettext_lazy(CALL, "resource %(type)s is not configured (settings.resources)"), _Missing(),
                             type=repr(container))
    return {**DEFAULTS, **config}


def _at(data: Any, path: str) -> Any:
    """A dot path into JSON ("" = the value itself; digits index lists)."""
    value = data
    for part in [p for p in path.split(".") if p] if path else []:
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _change(item: Mapping[str, Any], config: Mapping[str, Any]) -> RemoteChange | None:
    remote_id = _at(item, config["idField"])
    if remote_id in (None, "") or isinstance(remote_id, dict | list):
        return None
    hub_id = _at(item, config["hubIdField"]) if config["hubIdField"] else None
    stamp = _at(item, config["updatedAtField"]) if config["updatedAtField"] else None
    return RemoteChange(remote_id=str(remote_id), deleted=False, version=str(stamp) if stamp else None,
                        raw=dict(item), modified_at=instant(stamp),
                        hub_id=str(hub_id) if isinstance(hub_id, str) and hub_id else None)


def _with_id(template: str, remote_id: str) -> str:
    # Quoted, so an id can neither leave the path nor look like another {placeholder}.
    return template.replace("{id}", quote(remote_id, safe=""))


def _same_origin(client: Caller, url: str) -> str:
    """A next-page URL must stay on the configured server (the auth header goes with it)."""
    base, given = urlsplit(client.base_url), urlsplit(url)
    if (given.scheme, given.netloc) != (base.scheme, base.netloc):
        raise CursorInvalid(words(N_("the next-page URL leaves the configured base URL")))
    return url


def _raise_refused(response: Answer) -> None:
    if response.status in (401, 403):
        raise CredentialsRefused(words(N_("the API refused the credentials (HTTP %(status)s)"), status=response.status))


def _reason(response: Answer) -> str:
    data = response.data
    if isinstance(data, Mapping):
        text = data.get("error") or data.get("message") or data.get("detail")
        if isinstance(text, Mapping):
            text = text.get("message")
        if text:
            return f" ({str(text)[:120]})"
    return ""


def _decode(cursor: str | None) -> dict[str, Any]:
    return cursor_state(cursor, "Custom API") if cursor else {}
